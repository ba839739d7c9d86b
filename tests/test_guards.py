"""The checks both services make before a route runs: the Host allow-list and cross-site writes."""

from __future__ import annotations

import pytest

from sightline.guards import HostPolicy, cross_site_write

POLICY = HostPolicy(["photos.example.com", "*.lan", "Gallery.Example.org."])


@pytest.mark.parametrize("host", [None, "127.0.0.1", "127.0.0.1:8002", "127.9.9.9:1", "localhost:8002",
                                  "LocalHost", "ui.localhost:8002", "[::1]:8001", "[::1]", "10.0.0.7:8002",
                                  "photos.example.com:443", "nas.lan", "a.b.lan:8002", "gallery.example.org"])
def test_allowed_hosts(host: str | None):
    assert POLICY.allows(host)


@pytest.mark.parametrize("host", ["attacker.example", "127.0.0.1.nip.io", "127.attacker.example",
                                  "localhost.attacker.example:8002", "lan", "xlan", "photos.example.com.evil",
                                  "[::1", "", "ml"])
def test_refused_hosts(host: str):
    assert not POLICY.allows(host)


def test_a_star_allows_every_host():
    assert HostPolicy(["*"]).allows("anything.example")


@pytest.mark.parametrize("method, headers, refused", [
    ("GET", {"sec-fetch-site": "cross-site"}, False),
    ("POST", {}, False),
    ("POST", {"sec-fetch-site": "same-origin", "origin": "http://127.0.0.1:8002", "host": "127.0.0.1:8002"}, False),
    ("DELETE", {"sec-fetch-site": "none"}, False),
    ("POST", {"origin": "http://127.0.0.1:8002", "host": "127.0.0.1:8002"}, False),
    ("POST", {"origin": "http://localhost", "host": "localhost:80"}, False),
    ("PUT", {"sec-fetch-site": "cross-site"}, True),
    ("PATCH", {"sec-fetch-site": "same-site", "origin": "http://127.0.0.1:9999", "host": "127.0.0.1:8002"}, True),
    ("POST", {"origin": "http://127.0.0.1:9999", "host": "127.0.0.1:8002"}, True),
    ("POST", {"origin": "null", "host": "127.0.0.1:8002"}, True),
    ("DELETE", {"origin": "http://attacker.example", "host": "127.0.0.1:8002"}, True),
])
def test_cross_site_writes(method: str, headers: dict, refused: bool):
    assert cross_site_write(method, headers) is refused
