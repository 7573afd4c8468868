"""Which addresses a fetch may reach: a public source is never steered to a private address, by a
redirect, an item's link, a backslash, a name that changes its answer, or a proxy that hides it.

Loopback only. The tests play the internet on loopback: `pretend_public` makes one loopback address
count as public (127.0.0.1 or ::1), the other plays the school's network. Names are answered by
`resolver`, in-process (no real look-up); `connections` refuses any connection beyond loopback, so
even a check that failed would send nothing anywhere else.
"""

from __future__ import annotations

import socket

import pytest
from werkzeug import Response

from monitor import fetch
from monitor.errors import FetchError
from tests.rawserver import LOOPBACK, RawServer, answer, redirect_to


@pytest.fixture
def servers():
    made: list[RawServer] = []

    def make(handler, host: str = "127.0.0.1") -> RawServer:
        made.append(RawServer(handler, host))
        return made[-1]

    yield make
    for s in made:
        s.close()


@pytest.fixture
def lan(servers) -> RawServer:
    """The school's network: a page on ::1 that must never be read from a public source."""
    return servers(answer(body=b"the school's router admin page"), host="::1")


@pytest.fixture
def pretend_public(monkeypatch):
    """pretend_public("127.0.0.1"): that loopback address plays a public one."""

    def pretend(*ips: str) -> None:
        real = fetch.addresses.is_public  # where the address rules ask it
        monkeypatch.setattr(fetch.addresses, "is_public", lambda ip: ip in ips or real(ip))

    return pretend


@pytest.fixture
def connections(monkeypatch):
    """Every address a socket connected to; anything beyond loopback is refused before a packet."""
    opened: list[str] = []
    real = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        opened.append(host)
        if host not in LOOPBACK:
            raise OSError(f"test: no connection beyond loopback ({host})")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return opened


@pytest.fixture
def resolver(monkeypatch):
    """Names answered in-process: names[host] = address, or (address at the monitor's own check,
    address when connecting): the check asks without a port, a connection with one. Literal
    addresses are read without any look-up; every other name does not resolve."""
    names: dict[str, str | tuple[str, str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        answer = names.get(host.decode() if isinstance(host, bytes) else host)
        if answer is None:
            return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        ip = answer if isinstance(answer, str) else answer[0 if port is None else 1]
        if ":" in ip:
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port or 0, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


# ---------------------------------------------------------------- what counts as public


@pytest.mark.parametrize(
    "ip, public",
    [
        ("93.184.216.34", True),
        ("151.101.1.140", True),
        ("2a00:1450:4009::200e", True),
        ("2606:4700::1111", True),
        ("10.0.0.1", False),
        ("192.168.1.1", False),  # a router's admin page
        ("127.0.0.1", False),
        ("169.254.169.254", False),  # a cloud metadata address
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),  # unique local
        ("::ffff:10.0.0.1", False),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", False),  # NAT64: 169.254.169.254 behind the gateway
        ("64:ff9b::5db8:d822", False),  # NAT64 of a public address: still not an address of its own
        ("2002:c0a8:101::1", False),  # 6to4 (192.168.1.1)
        ("fec0::1", False),  # site-local (deprecated, still routed on some networks)
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::a9fe:a9fe", False),
        ("not an address", False),
    ],
)
def test_is_public(ip, public):
    assert fetch.is_public(ip) is public


# ---------------------------------------------------------------- a backslash in the host part


def test_a_backslash_in_the_host_part_is_refused(servers):
    """urlsplit reads the host of http://127.0.0.1:P\\@8.8.8.8/ as 8.8.8.8; requests and urllib3 stop
    at the backslash and connect to 127.0.0.1:P. No URL whose parsers disagree is fetched."""
    target = servers(answer(body=b"secret"))
    with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match=r"backslash") as e:
        fetcher.get(f"http://{target.netloc}\\@8.8.8.8/")
    assert e.value.permanent
    assert target.requests == []


def test_a_redirect_with_a_backslash_cannot_reach_the_lan(servers, lan, pretend_public, connections):
    pretend_public("127.0.0.1")
    source = servers(redirect_to(f"http://{lan.netloc}\\@8.8.8.8/"))
    with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match=r"backslash"):
        fetcher.get(source.url("/feed.xml"))
    assert lan.requests == []
    assert "8.8.8.8" not in connections


# ---------------------------------------------------------------- names that change their answer


def test_a_redirect_to_a_name_that_turns_private_when_connecting_is_refused(
    servers, lan, pretend_public, resolver, connections
):
    """DNS rebinding: the name answers a public address when checked, a private one when connected."""
    pretend_public("127.0.0.1")
    resolver["rebind.test"] = ("127.0.0.1", "::1")
    source = servers(redirect_to(f"http://rebind.test:{lan.port}/admin"))
    with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match=r"private address \(::1\)") as e:
        fetcher.get(source.url("/feed.xml"))
    assert e.value.permanent
    assert lan.requests == []  # connected, checked, hung up before a byte was sent


def test_a_source_whose_name_turns_private_when_connecting_is_refused(lan, pretend_public, resolver):
    pretend_public("127.0.0.1")
    resolver["rebind.test"] = ("127.0.0.1", "::1")
    with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match=r"private address \(::1\)"):
        fetcher.get(f"http://rebind.test:{lan.port}/feed.xml")
    assert lan.requests == []


def test_a_kept_alive_connection_is_checked_again_for_the_next_fetch(lan, pretend_public, resolver):
    """A connection opened to a private address for a private source is not reused for a public one."""
    pretend_public("127.0.0.1")
    resolver["shared.test"] = ("127.0.0.1", "::1")
    url = f"http://shared.test:{lan.port}"
    with fetch.Fetcher() as fetcher:
        # A link found on a private source: private addresses allowed, the connection kept alive.
        assert fetcher.get(url + "/a", origin=f"http://{lan.netloc}/feed").status == 200
        with pytest.raises(FetchError, match=r"private address \(::1\)"):
            fetcher.get(url + "/b")
    assert [r.split(b" ")[1] for r in lan.requests] == [b"/a"]


# ---------------------------------------------------------------- behind a proxy


@pytest.fixture
def proxy(proxy, no_proxy_env):
    """The proxy of conftest.py, and the environment pointing plain http at it."""
    no_proxy_env.setenv("http_proxy", f"http://127.0.0.1:{proxy.server_port}")
    return proxy


def test_a_public_source_behind_a_proxy_is_still_held_to_it(proxy, lan, resolver):
    """On a network where only the proxy resolves names, a source's name does not resolve here: it
    counts as public, and is not let steer the proxy into the school's network."""
    proxy.routes["http://school-news.example/feed.xml"] = (302, f"http://{lan.netloc}/admin")
    with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match=r"from a public address to a private one"):
        fetcher.get("http://school-news.example/feed.xml")
    assert proxy.lines == ["GET http://school-news.example/feed.xml HTTP/1.1"]
    assert lan.requests == []


def test_a_source_behind_a_proxy_may_move_to_another_public_name(proxy, resolver):
    proxy.routes["http://school-news.example/feed.xml"] = (301, "http://news.example/feed.xml")
    proxy.routes["http://news.example/feed.xml"] = (302, "http://news.example/final.xml")
    with fetch.Fetcher() as fetcher:
        got = fetcher.get("http://school-news.example/feed.xml")
    assert got.body == b"via the proxy"


# ---------------------------------------------------------------- every spelling of a private address


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/",
        "http://2130706433:{port}/",  # decimal
        "http://0177.0.0.1:{port}/",  # octal
        "http://0x7f.0.0.1:{port}/",  # hex
        "http://127.1:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://0.0.0.0:{port}/",
        "http://[::]:{port}/",
        "http://user:pw@127.0.0.1:{port}/",
        "http://8.8.8.8@127.0.0.1:{port}/",  # userinfo that looks like a host
        "http://localhost:{port}/",
        "http://school.localhost:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
        "http://[2002:a9fe:a9fe::1]/",  # 6to4
        "http://[fec0::1]/",  # site-local
        "http://[::169.254.169.254]/",  # IPv4-compatible
    ],
)
def test_a_public_source_cannot_redirect_to_any_spelling_of_a_private_address(
    location, servers, pretend_public, connections, resolver
):
    """Here ::1 plays the public source, and every 127.x, link-local or LAN spelling stays refused."""
    pretend_public("::1")
    inside = servers(answer(body=b"inside"))
    source = servers(redirect_to(location.format(port=inside.port)), host="::1")
    with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match=r"refused a redirect"):
        fetcher.get(source.url("/feed.xml"))
    assert inside.requests == []
    assert set(connections) == {"::1"}


# ---------------------------------------------------------------- item links and pages added by hand


def test_an_item_link_is_judged_against_its_sources_address(servers, lan, pretend_public):
    """A public feed's item linking into the LAN: re-checking the item must not fetch it."""
    pretend_public("127.0.0.1")
    feed = servers(answer(body=b"<rss/>"))
    link = lan.url("/admin/delete-all?confirm=yes")
    with fetch.Fetcher() as fetcher:
        with pytest.raises(FetchError, match=r"private address \(::1\)") as e:
            fetcher.get(link, origin=feed.url("/feed.xml"))
        assert e.value.permanent
        # The same link, found on a source inside the school's network, may be read.
        assert fetcher.get(lan.url("/post/1"), origin=lan.url("/intranet-feed.xml")).status == 200
    assert [r.split(b" ")[1] for r in lan.requests] == [b"/post/1"]


def test_an_item_link_that_redirects_into_the_lan_is_refused(servers, lan, pretend_public):
    pretend_public("127.0.0.1")
    feed = servers(answer(body=b"<rss/>"))
    post = servers(redirect_to(lan.url("/admin")))
    with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match=r"from a public address to a private one"):
        fetcher.get(post.url("/post/1"), origin=feed.url("/feed.xml"))
    assert lan.requests == []


def test_an_item_link_whose_name_turns_private_is_refused(servers, lan, pretend_public, resolver):
    pretend_public("127.0.0.1")
    resolver["rebind.test"] = ("127.0.0.1", "::1")
    feed = servers(answer(body=b"<rss/>"))
    with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match=r"private address \(::1\)"):
        fetcher.get(f"http://rebind.test:{lan.port}/post", origin=feed.url("/feed.xml"))
    assert lan.requests == []


def test_public_only_refuses_every_address_that_is_not_public(
    servers, lan, pretend_public, resolver, connections, httpserver
):
    """The desk's "add by hand": staff must not make the server read the school's network."""
    httpserver.expect_request("/page").respond_with_data("a loopback page")
    with fetch.Fetcher() as fetcher:
        with pytest.raises(FetchError, match=r"not on a public address \(127.0.0.1\)") as e:
            fetcher.get(httpserver.url_for("/page"), public_only=True)
        assert e.value.permanent
        with pytest.raises(FetchError, match=r"not on a public address \(169.254.169.254\)"):
            fetcher.get("http://169.254.169.254/latest/meta-data/", public_only=True)
        assert fetcher.get(httpserver.url_for("/page")).status == 200  # without it, a local page is fine
    pretend_public("127.0.0.1")
    resolver["rebind.test"] = ("127.0.0.1", "::1")
    hop = servers(redirect_to(lan.url("/admin")))
    with fetch.Fetcher() as fetcher:
        with pytest.raises(FetchError, match=r"refused: a redirect to .* is not on a public address \(::1\)"):
            fetcher.get(hop.url("/moved"), public_only=True)
        with pytest.raises(FetchError, match=r"not on a public address \(::1\)"):
            fetcher.get(f"http://rebind.test:{lan.port}/page", public_only=True)
        assert fetcher.get(httpserver.url_for("/page"), public_only=True).status == 200
    assert lan.requests == []


def test_robots_txt_is_read_within_the_same_bounds(servers, lan, pretend_public, httpserver):
    """robots.txt is fetched for a redirect's host only once that host has passed the address check."""
    pretend_public("127.0.0.1")
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/page").respond_with_response(
        Response(status=302, headers={"Location": lan.url("/page")})
    )
    with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match=r"from a public address to a private one"):
        fetcher.get(httpserver.url_for("/page"), fetch.Limits(robots=True))
    assert lan.requests == []
