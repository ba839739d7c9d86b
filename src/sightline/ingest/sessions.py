"""Browser sessions and the brake on token guessing, both in this process's memory.

A session cookie holds 32 random bytes; the server keeps only their SHA-256 and an expiry, so logging
out (or restarting the service) revokes it. Failed token attempts are counted per client address: after
a few, that client is refused for a while, the wait doubling with each further failure.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable

SESSION_SECONDS = 30 * 24 * 3600


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(self, lifetime_s: float = SESSION_SECONDS, limit: int = 1000,
                 clock: Callable[[], float] = time.monotonic):
        self.lifetime_s = lifetime_s
        self.limit = limit  # the oldest sessions go first beyond it: memory stays bounded
        self.clock = clock
        self._expiry: dict[str, float] = {}

    def open(self) -> str:
        session_id = secrets.token_urlsafe(32)
        self._expiry[_digest(session_id)] = self.clock() + self.lifetime_s
        while len(self._expiry) > self.limit:
            del self._expiry[next(iter(self._expiry))]
        return session_id

    def valid(self, session_id: str | None) -> bool:
        if not session_id:
            return False
        key = _digest(session_id)
        expiry = self._expiry.get(key)
        if expiry is not None and expiry <= self.clock():
            del self._expiry[key]
            return False
        return expiry is not None

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._expiry.pop(_digest(session_id), None)


class LoginThrottle:
    """After `tries` failures in a row a client is locked out for `first_s`, doubling with each further
    failure, at most `max_s`. A success forgets the client's failures."""

    def __init__(self, tries: int = 5, first_s: float = 1.0, max_s: float = 300.0, limit: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.tries, self.first_s, self.max_s, self.limit, self.clock = tries, first_s, max_s, limit, clock
        self._clients: dict[str, tuple[int, float]] = {}  # client → (failures, locked until)

    def retry_after(self, client: str) -> int:
        """Whole seconds until `client` may try again; 0 when it may now."""
        _, until = self._clients.get(client, (0, 0.0))
        return max(0, math.ceil(until - self.clock()))

    def failed(self, client: str) -> None:
        failures = self._clients.pop(client, (0, 0.0))[0] + 1
        over = failures - self.tries  # 0 at the last free try
        until = self.clock() + min(self.first_s * 2 ** min(over, 32), self.max_s) if over >= 0 else 0.0
        self._clients[client] = (failures, until)
        if len(self._clients) > self.limit:
            del self._clients[next(iter(self._clients))]

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)
