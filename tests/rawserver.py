"""A raw TCP server on 127.0.0.1 for answers no HTTP library would send: drips, endless bodies.

Each connection runs `handler(conn, request_bytes, stop)` on its own thread; `stop` is set when the
test ends, so a handler that sends forever ends too (or when the client hangs up on it).
"""

from __future__ import annotations

import socket
import threading


class RawServer:
    def __init__(self, handler):
        self.handler = handler
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

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
            request = b""
            conn.settimeout(5)
            try:
                while b"\r\n\r\n" not in request:
                    data = conn.recv(4096)
                    if not data:
                        return
                    request += data
                self.requests.append(request)
                self.handler(conn, request, self.stop)
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
