"""The bind-address rule both services apply at start-up."""

from __future__ import annotations

import pytest

from sightline.security import check_bind, is_loopback


def test_non_loopback_bind_without_a_secret_is_refused():
    with pytest.raises(SystemExit, match="SIGHTLINE_API_KEY is not configured"):
        check_bind("0.0.0.0", False, "SIGHTLINE_API_KEY")


@pytest.mark.parametrize("host,secret", [("0.0.0.0", True), ("127.0.0.1", False), ("127.0.0.2", False)])
def test_a_secret_or_a_loopback_address_is_enough(host: str, secret: bool):
    check_bind(host, secret, "SIGHTLINE_API_KEY")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_addresses_and_localhost_are_loopback(host: str):
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["127.attacker.example", "127.0.0.1.nip.io", "127.", "localhost.attacker.example", "0.0.0.0",
             "192.168.1.2", "::", ""]
)
def test_host_names_that_only_look_like_loopback_are_not(host: str):
    assert not is_loopback(host)


def test_a_short_secret_is_refused_beyond_loopback_only():
    with pytest.raises(SystemExit, match="SIGHTLINE_ADMIN_TOKEN must be at least 16 characters"):
        check_bind("0.0.0.0", "fifteen-chars-x", "SIGHTLINE_ADMIN_TOKEN", min_chars=16)
    check_bind("0.0.0.0", "sixteen-chars-xx", "SIGHTLINE_ADMIN_TOKEN", min_chars=16)
    check_bind("127.0.0.1", "short", "SIGHTLINE_ADMIN_TOKEN", min_chars=16)
