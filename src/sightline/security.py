"""API keys (ML service) and the bind-address rule shared by both services."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from fastapi import Request

from sightline.config import LOOPBACK_HOSTS
from sightline.errors import ErrorCode, SightlineError

API_KEY_HEADER = "x-api-key"


def key_matches(presented: str | None, valid_keys: list[str]) -> bool:
    """Constant-time check against every valid key (no early exit that would reveal which one matched)."""
    if presented is None:
        presented = ""
    matched = False
    for key in valid_keys:
        matched |= hmac.compare_digest(presented.encode(), key.encode())
    return matched


def api_key_dependency(valid_keys: list[str]):
    """A FastAPI dependency refusing requests without a valid x-api-key; open when no key is configured."""

    async def require_api_key(request: Request) -> None:
        if valid_keys and not key_matches(request.headers.get(API_KEY_HEADER), valid_keys):
            raise SightlineError(
                ErrorCode.UNAUTHORIZED,
                "Missing or invalid API key: send a valid key in the x-api-key header.",
                where=API_KEY_HEADER,
                status=401,
            )

    return require_api_key


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def check_bind(host: str, secret_configured: bool, what: str) -> None:
    """Refuse to expose a service beyond this machine without a secret."""
    if not is_loopback(host) and not secret_configured:
        raise SystemExit(
            f"Refusing to bind {host}: {what} is not configured. Set it, or bind to 127.0.0.1."
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
