"""What both services check before any route runs, from the request line and headers alone (pure ASGI:
nothing of the body is read): the Host allow-list against DNS rebinding, and no cross-site writes.

A page on another site (or on another port of this machine) can make a browser send requests here. With
DNS rebinding its own host name comes to point at 127.0.0.1, so its requests carry *its* name in `Host`:
only loopback names, IP addresses (which cannot be rebound) and configured names are answered. And a
browser labels every request with `Sec-Fetch-Site` (older ones with `Origin` on writes): anything but
same-origin may not change state. Clients that are not browsers send neither header and are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sightline.errors import ErrorCode
from sightline.http import error_response
from sightline.security import API_KEY_HEADER, ip_address, key_matches

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ANY_HOST_PATHS = frozenset({"/health"})  # liveness probes use whatever Host they like; it tells nothing
DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def host_name(host_header: str) -> str:
    """The name or address of a Host header, without the port, lower-case, without a trailing dot."""
    value = host_header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    name, colon, port = value.rpartition(":")
    return (name if colon and port.isdigit() else value).rstrip(".")


class HostPolicy:
    """Loopback names, IP addresses and the configured names (`*.suffix` for sub-domains, `*` for all)."""

    def __init__(self, configured: Iterable[str] = ()):
        names = [name.strip().lower().rstrip(".") for name in configured if name.strip()]
        self.any = "*" in names
        self.exact = frozenset(name for name in names if not name.startswith("*."))
        self.suffixes = tuple(name[1:] for name in names if name.startswith("*."))

    def allows(self, host_header: str | None) -> bool:
        if self.any or host_header is None:  # no Host at all: HTTP/1.0, never a browser
            return True
        name = host_name(host_header)
        if not name:
            return False
        return (ip_address(name) is not None or name == "localhost" or name.endswith(".localhost")
                or name in self.exact or name.endswith(self.suffixes))


def cross_site_write(method: str, headers: Mapping[str, str]) -> bool:
    """A state-changing request that a browser sent from another origin (another site, or another port)."""
    if method not in STATE_CHANGING:
        return False
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = headers.get("origin")
    return origin is not None and not _same_origin(origin, headers.get("host", ""))


def _same_origin(origin: str, host_header: str) -> bool:
    parts = urlsplit(origin)
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return False  # "null" (sandboxed frames, file: pages) and anything odd
    default = DEFAULT_PORTS[parts.scheme]
    return parts.netloc.lower().removesuffix(default) == host_header.lower().removesuffix(default)


def refusal(scope: Scope, hosts: HostPolicy | None) -> Response | None:
    """The 403 for a request from a name not allowed (`hosts` None: no Host check) or a cross-site write; a 400
    for more than one Host header (RFC 9112 3.2)."""
    headers = Headers(scope=scope)
    host = headers.get("host")
    if len(headers.getlist("host")) > 1:  # which one a proxy or the app reads differs: none is trusted
        return error_response(400, ErrorCode.VALIDATION_ERROR, "The request has more than one Host header.",
                              where="host")
    if hosts is not None and scope["path"] not in ANY_HOST_PATHS and not hosts.allows(host):
        return error_response(403, ErrorCode.FORBIDDEN, f"This service does not answer to the host name "
                              f"{host!r}: add it to SIGHTLINE_ALLOWED_HOSTS if it is really this machine's.",
                              where="host")
    if cross_site_write(scope["method"], headers):
        return error_response(403, ErrorCode.FORBIDDEN, "A page of another site or port may not change "
                              "anything here: use this service's own pages.", where="origin")
    return None


class Gate:
    """A pure ASGI middleware that answers in the app's place when `check` returns a response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    def check(self, scope: Scope) -> Response | None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.check(scope) if scope["type"] == "http" else None
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)


class ApiKeyGuard(Gate):
    """The ML service's gate, before a byte of the body is read: every route but the open ones needs a
    valid x-api-key (when keys are configured); a request without a valid key must also pass the Host
    check; no cross-site writes. The API docs are open on a loopback bind only."""

    OPEN_PATHS = frozenset({"/", "/health"})
    DOCS_PATHS = ("/docs", "/redoc", "/openapi.json", "/static-offline-docs/")

    def __init__(self, app: ASGIApp, keys: list[str], hosts: HostPolicy, docs_open: bool):
        super().__init__(app)
        self.keys = keys
        self.hosts = hosts
        self.docs_open = docs_open

    def is_open(self, path: str) -> bool:
        return path in self.OPEN_PATHS or (self.docs_open and path.startswith(self.DOCS_PATHS))

    def check(self, scope: Scope) -> Response | None:
        keyed = bool(self.keys) and key_matches(Headers(scope=scope).get(API_KEY_HEADER), self.keys)
        if self.keys and not keyed and not self.is_open(scope["path"]):
            return error_response(401, ErrorCode.UNAUTHORIZED, "Missing or invalid API key: send a valid key "
                                  "in the x-api-key header.", where=API_KEY_HEADER)
        # A valid key is no browser's rebound page: no Host check then (programs may use any name).
        return refusal(scope, None if keyed else self.hosts)
