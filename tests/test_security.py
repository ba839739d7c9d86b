"""The bind-address rule both services apply at start-up."""

from __future__ import annotations

import pytest

from sightline.security import check_bind


def test_non_loopback_bind_without_a_secret_is_refused():
    with pytest.raises(SystemExit, match="SIGHTLINE_API_KEY is not configured"):
        check_bind("0.0.0.0", False, "SIGHTLINE_API_KEY")


@pytest.mark.parametrize("host,secret", [("0.0.0.0", True), ("127.0.0.1", False), ("127.0.0.2", False)])
def test_a_secret_or_a_loopback_address_is_enough(host: str, secret: bool):
    check_bind(host, secret, "SIGHTLINE_API_KEY")
