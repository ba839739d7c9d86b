"""API keys (ML service) and the bind-address rule shared by both services."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from pathlib import Path

API_KEY_HEADER = "x-api-key"
MIN_ADMIN_TOKEN_CHARS = 16


def key_matches(presented: str | None, valid_keys: list[str]) -> bool:
    """Constant-time check against every valid key (no early exit that would reveal which one matched)."""
    if presented is None:
        presented = ""
    matched = False
    for key in valid_keys:
        matched |= hmac.compare_digest(presented.encode(), key.encode())
    return matched


def ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `host` spells (IPv6 with or without brackets), or None for a name."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """A loopback address (127.0.0.0/8, ::1) or the name localhost; never a name that merely starts
    with "127." (such a name resolves wherever its owner wants)."""
    address = ip_address(host)
    return address.is_loopback if address is not None else host.lower() == "localhost"


def check_bind(host: str, secret: str | bool | None, what: str, min_chars: int = 0) -> None:
    """Refuse to expose a service beyond this machine without a secret, or with one shorter than
    `min_chars` (checked when the secret itself is given)."""
    if is_loopback(host):
        return
    if not secret:
        raise SystemExit(
            f"Refusing to bind {host}: {what} is not configured. Set it, or bind to 127.0.0.1."
        )
    if isinstance(secret, str) and len(secret) < min_chars:
        raise SystemExit(
            f"Refusing to bind {host}: {what} must be at least {min_chars} characters long beyond loopback "
            f"(it is {len(secret)}). Set a longer one, or bind to 127.0.0.1."
        )


def load_or_create_key(path: Path) -> str:
    """The key `sightline up` shares with both services, kept 0600 in the data dir."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(key + "\n")
    return key
