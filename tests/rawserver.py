"""A raw TCP server on loopback (127.0.0.1, or ::1) for answers no HTTP library would send: drips,
endless bodies, a redirect to a hand-made Location.

Each request runs `handler(conn, request_bytes, stop)` on its connection's thread; a connection kept
alive runs it again for its next request. `stop` is set when the test ends, so a handler that sends
forever ends too (or when the client hangs up on it). `requests` lists every request's head.
"""

from __future__ import annotations

import socket
import threading

LOOPBACK = ("127.0.0.1", "::1")


class RawServer:
    def __init__(self, handler, host: str = "127.0.0.1"):
        if host not in LOOPBACK:
            raise ValueError(f"{host}: loopback only")
        self.handler = handler
        self.host = host
        self.stop = threading.Event()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.create_server((host, 0), family=family)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def netloc(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"http://{self.netloc}{path}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            pending = b""
            try:
                while not self.stop.is_set():
                    conn.settimeout(0.2)  # between requests: look at `stop` now and then
                    try:
                        data = conn.recv(4096)
                    except TimeoutError:
                        continue
                    if not data:
                        return
                    pending += data
                    while b"\r\n\r\n" in pending:
                        head, _, pending = pending.partition(b"\r\n\r\n")
                        self.requests.append(head + b"\r\n\r\n")
                        conn.settimeout(5)
                        self.handler(conn, head + b"\r\n\r\n", self.stop)
            except OSError:
                pass  # the client hung up: that is what the hostile cases expect

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for t in self._threads:
            t.join(timeout=5)


def drip(data: bytes, *, at_once: bytes = b"", every: float = 0.2):
    """A handler that sends `at_once`, then `data` one byte at a time, then one more byte forever."""

    def handler(conn, request, stop):
        conn.sendall(at_once)
        for i in range(len(data)):
            conn.sendall(data[i : i + 1])
            if stop.wait(every):
                return
        while not stop.wait(every):
            conn.sendall(b" ")

    return handler


def endless(headers: bytes, chunk: bytes = b"x" * 65536):
    """A handler that sends the headers, then the chunk again and again until the client hangs up."""

    def handler(conn, request, stop):
        conn.sendall(headers)
        while not stop.is_set():
            conn.sendall(chunk)

    return handler


def answer(status: str = "200 OK", body: bytes = b"", headers: bytes = b""):
    """A handler that answers each request with the same response (the connection kept alive)."""
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n".encode() + headers + b"\r\n"

    def handler(conn, request, stop):
        conn.sendall(head + body)

    return handler


def redirect_to(location: str):
    """A handler whose every answer is a 302 to `location`, sent byte for byte as given."""
    return answer("302 Found", headers=b"Location: " + location.encode("latin-1") + b"\r\n")
