"""Where a fetch may go: which addresses are public, the host a URL will really connect to, the
addresses a name stands for, and the scope of one fetch.

Rules:
- a URL is judged by the host the HTTP library will connect to: http(s) only, and refused when a
  backslash is in the host part or two parsers read different hosts from it;
- a fetch may reach a private, loopback or link-local address only when its origin is on one (a
  source configured inside the school's network); `public_only` allows public addresses alone;
- every address rule asks `is_public`.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna
import requests
import urllib3

from monitor.errors import AddressRefused, FetchError

ADDRESSES_KEEP = 300.0  # how long a name's addresses are trusted for judging a source
DEFAULT_PORTS = {"http": 80, "https": 443}

# Addresses Python's ipaddress calls global that lead elsewhere: NAT64 and 6to4 carry an IPv4
# address (perhaps a private one) to a gateway, site-local is the LAN of old, and an IPv4-compatible
# address (::a.b.c.d) is an IPv4 address in disguise.
_NOT_PUBLIC_V6 = tuple(ipaddress.IPv6Network(n) for n in ("64:ff9b::/96", "2002::/16", "fec0::/10", "::/96"))
_LEGACY_IPV4 = frozenset("0123456789abcdefxABCDEFX.")


def is_public(ip: str) -> bool:
    """A global unicast address: not private, loopback, link-local, CGNAT, multicast, reserved, nor
    an IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4) or is site-local.
    Every address rule of this module asks this one function."""
    try:
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        elif any(addr in net for net in _NOT_PUBLIC_V6):
            return False
    return addr.is_global and not addr.is_multicast


def _literal_ip(host: str) -> str | None:
    """The address a host names without a look-up: an IP literal, or IPv4 as inet_aton reads it
    (2130706433, 0177.0.0.1, 0x7f.1, 127.1), as the connection itself will read it."""
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    if host and set(host) <= _LEGACY_IPV4:
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _resolve(host: str) -> tuple[str, ...]:
    """The addresses of a name; () when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class _Scope:
    """What a fetch may reach: private addresses only when its origin is on one."""

    private_ok: bool
    public_only: bool = False
    origin: str = ""  # the source whose address decided, when it is not the URL itself

    @classmethod
    def judged_by(cls, addresses: tuple[str, ...], origin: str) -> _Scope:
        """The scope of a fetch whose source (the URL itself, or `origin`) stands for `addresses`."""
        # A name that does not resolve here (behind a proxy) is held to the public rule.
        private = bool(addresses) and not any(is_public(ip) for ip in addresses)
        return cls(private_ok=private, origin=origin)

    def allows(self, ip: str) -> bool:
        """The rule, for the address a URL's host stands for and for the one a connection reached."""
        return self.private_ok or is_public(ip)

    def refusal(self, url: str, ip: str, how: str) -> FetchError:
        """how: "url" (before connecting), "redirect", or "connected" (the address reached)."""
        if self.public_only:
            where = f"a redirect to {url}" if how == "redirect" else url
            text = f"refused: {where} is not on a public address ({ip}); only public addresses may be read here"
        elif how == "redirect":
            text = f"refused a redirect from a public address to a private one ({ip}): {url}"
        elif self.origin:
            text = f"refused: {url} is on a private address ({ip}), and its source, {self.origin}, is not"
        else:
            text = f"refused: {url} is on a private address ({ip}), and the source's own name is public"
        if how == "connected":
            text += " (the name gave another address when it was checked)"
        return AddressRefused(text)


@dataclass(frozen=True)
class _Target:
    """A URL as requests will send it (quoted, IDNA-encoded) and the host it will connect to."""

    url: str
    scheme: str
    host: str  # lower-case, IPv6 without brackets, no trailing dot
    port: int
    netloc: str  # as in the URL (a user:password included)
    has_auth: bool

    @property
    def key(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _target(url: str, *, redirect: bool = False) -> _Target:
    """The URL prepared as requests prepares it, refused unless http(s) and unless every parser
    reads the same host from it (a backslash: urlsplit reads http://a\\@b/ as host b, requests and
    urllib3 connect to a)."""

    def refused(text: str) -> FetchError:
        return FetchError(("refused a redirect " if redirect else "refused: ") + text, permanent=True)

    shown = url[:200]
    try:
        raw = urlsplit(url)
    except ValueError as e:  # e.g. "Invalid IPv6 URL"
        raise refused(
            f"to an invalid URL ({e}): {shown}" if redirect else f"{shown!r} is not a valid URL ({e})"
        ) from None
    if raw.scheme.lower() not in DEFAULT_PORTS:
        raise refused(f"to a non-http(s) URL: {shown}" if redirect else f"{shown!r} is not an http(s) URL")
    if "\\" in raw.netloc:
        raise refused(
            f"to a URL with a backslash in its host part: {shown}"
            if redirect
            else f"a backslash in the host part of {shown!r}"
        )
    req = requests.PreparedRequest()
    try:
        req.prepare_url(url, None)
    except (requests.exceptions.RequestException, ValueError, UnicodeError) as e:
        raise refused(
            f"to an invalid URL ({e}): {shown}" if redirect else f"{shown!r} is not a valid URL ({e})"
        ) from None
    prepared = str(req.url)
    parts = urlsplit(prepared)
    host = parts.hostname or ""  # what requests picks the connection pool by
    connects_to = (urllib3.util.parse_url(prepared).host or "").strip("[]").lower()  # what urllib3 dials
    if not host or host != connects_to:
        raise refused(f"to a URL whose host is ambiguous: {shown}" if redirect else f"{shown!r}: ambiguous host")
    scheme = parts.scheme.lower()
    return _Target(
        url=prepared,
        scheme=scheme,
        host=host.rstrip("."),
        port=parts.port or DEFAULT_PORTS[scheme],
        netloc=parts.netloc,
        has_auth="@" in parts.netloc,
    )


def _host_and_port(host_or_url: str) -> tuple[str, int | None]:
    """("host", port or None) of a URL, "host:port", "[v6]:port" or "host"; ("", None) if neither."""
    text = host_or_url.strip()
    try:
        if "://" in text:
            parts = urlsplit(text)
            return _host_key(parts.hostname or ""), parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            return _host_key(host), int(rest[1:]) if rest.startswith(":") else None
        if text.count(":") == 1:
            host, _, port = text.partition(":")
            return _host_key(host), int(port)
        return _host_key(text), None
    except ValueError:
        return "", None


def _host_key(host: str) -> str:
    """A host as URLs name it once prepared: lower-case, IDNA, no trailing dot, no brackets."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if not host or any(c in host for c in "/?#@ \\"):
        raise ValueError(f"not a host: {host!r}")
    if _literal_ip(host) or host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as e:
        raise ValueError(f"not a host: {host!r} ({e})") from None
