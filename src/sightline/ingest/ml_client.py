"""HTTP client of the ML service: pooled, keyed, round-robin over replicas, retries with backoff."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import httpx

from sightline.errors import ErrorCode, SightlineError
from sightline.imaging import ImageDecodeError
from sightline.imaging.reduce import reduced_jpeg
from sightline.security import API_KEY_HEADER

MAX_BACKOFF_SECONDS = 10.0
RetryHook = Callable[[str], Awaitable[None]]
# The original-compatible ML API names result fields after CLIP and BLIP; inside Sightline they are named
# for what they are, whatever the backend. Translated here, once.
_RESULT_FIELDS = {"model_name_clip": "embedding_model", "model_name_blip": "caption_model", "device_used": "device"}


class MLError(SightlineError):
    """The ML service could not answer: ML_UNAVAILABLE, ML_TIMEOUT or ML_UNAUTHORIZED."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(code, message, where="ml_service", status=_STATUS.get(code, 503))


_STATUS = {ErrorCode.ML_TIMEOUT: 504, ErrorCode.ML_UNAUTHORIZED: 502}
# What embed_files sends: the files themselves, or each decoded and reduced here to the model's input size
# (a small JPEG), so that an ML replica on a GPU spends no CPU on decoding (docs/scaling.md).
Upload = Literal["original", "reduced"]
CONNECT_TIMEOUT_SECONDS = 5.0


class MLClient:
    def __init__(
        self,
        urls: Sequence[str],
        api_key: str | None,
        *,
        timeout: float = 300.0,
        interactive_timeout: float = 10.0,
        retries: int = 6,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        upload: Upload = "original",
    ):
        """`timeout` bounds background work (batches); `interactive_timeout` a call a person waits on (a search,
        the status page), so a stuck ML service is an `ML_TIMEOUT` (504) in seconds, not minutes.
        `transport` (e.g. `httpx.ASGITransport(app=ml_app)`) carries every request when given; the URLs
        stay the base URLs of the replicas. `upload` says what `embed_files` sends (see `Upload`)."""
        if not urls:
            raise ValueError("at least one ML service URL is needed")
        self.upload = upload
        self._model_side: int | None = None
        self.urls = list(urls)
        self._next_url = itertools.cycle(range(len(self.urls)))
        self.retries = retries
        self.backoff = backoff
        quick = min(CONNECT_TIMEOUT_SECONDS, interactive_timeout)
        self._interactive_timeout = httpx.Timeout(interactive_timeout, connect=quick)
        self._health_timeout = httpx.Timeout(quick)
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_SECONDS),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def capabilities(self, interactive: bool = False, on_retry: RetryHook | None = None) -> dict[str, Any]:
        """Asked afresh each time: a replica may have been restarted with another model. A small answer: even
        background work waits for it no longer than a person would, and retries (a hung replica is said in
        the job's log within seconds, not after `ml_timeout`)."""
        response = await self._request("GET", "/api/v1/capabilities", interactive=interactive,
                                        loaded=_models_loaded, on_retry=on_retry, timeout=self._interactive_timeout)
        return response.json()

    async def embed_files(
        self,
        files: Sequence[tuple[str, str, bytes]],
        caption: bool,
        on_retry: RetryHook | None = None,
        interactive: bool = False,
    ) -> list[dict[str, Any]]:
        """(unique_id, filename, bytes) → one result per file, in order, over the binary transport.

        Each result carries `embedding`, `caption`, `caption_kind`, `embedding_model`, `caption_model`,
        `device` and `error` (None, or {code, message} for that file only)."""
        if self.upload == "reduced":
            files = await self._reduced(files, interactive)
        multipart = [("images", (name, data, "application/octet-stream")) for _, name, data in files]
        form = {"unique_ids": [unique_id for unique_id, _, _ in files], "caption": "true" if caption else "false"}
        response = await self._request(
            "POST", "/api/v1/embed_images", files=multipart, data=form, on_retry=on_retry, interactive=interactive
        )
        return [{_RESULT_FIELDS.get(key, key): value for key, value in result.items()}
                for result in response.json()["results"]]

    async def _reduced(self, files: Sequence[tuple[str, str, bytes]], interactive: bool
                       ) -> list[tuple[str, str, bytes]]:
        """Each file reduced to the model's input size, in worker threads. A file that does not decode here
        goes as it is: the ML service answers its error, in the same words as for any other file."""
        if self._model_side is None:
            self._model_side = (await self.capabilities(interactive)).get("min_image_side")
        side = self._model_side
        if not side:  # a replica too old to say: originals
            return list(files)

        def reduce(data: bytes) -> bytes:
            try:
                return reduced_jpeg(data, side)
            except ImageDecodeError:
                return data

        reduced = await asyncio.gather(*(asyncio.to_thread(reduce, data) for _, _, data in files))
        return [(unique_id, name, data) for (unique_id, name, _), data in zip(files, reduced)]

    async def embed_texts(self, texts: list[str], interactive: bool = False) -> tuple[list[list[float]], str]:
        """The embeddings and the name of the model that made them."""
        response = await self._request("POST", "/api/v1/embed_text", json={"texts": texts}, interactive=interactive)
        body = response.json()
        return body["embeddings"], body["model_name"]

    async def replica_health(self) -> list[dict[str, Any]]:
        """Each replica's /health, for the dashboard; never raises."""
        return await asyncio.gather(*(self._health(url) for url in self.urls))

    async def _health(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(f"{url}/health", timeout=self._health_timeout)
            return {"url": url, "reachable": True, "status_code": response.status_code, **response.json()}
        except (httpx.HTTPError, ValueError) as exc:
            return {"url": url, "reachable": False, "status": "unreachable", "error": type(exc).__name__}

    async def _request(
        self, method: str, path: str, on_retry: RetryHook | None = None, interactive: bool = False,
        loaded: Callable[[httpx.Response], bool] | None = None, **kwargs: Any,
    ) -> httpx.Response:
        """Background work retries with backoff; a person waiting (interactive) gets one try per replica.
        A replica whose answer says its models are still loading (`loaded` is False) counts as unavailable."""
        last_error: MLError | None = None
        attempts = len(self.urls) if interactive else self.retries + 1
        if interactive:
            kwargs["timeout"] = self._interactive_timeout
        for attempt in range(attempts):
            if attempt and not interactive:
                delay = min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
                if on_retry is not None:
                    await on_retry(f"{last_error.code}: {last_error.message}; retry {attempt}/{self.retries} "
                                   f"in {delay:.1f}s")
                await asyncio.sleep(delay)
            url = self.urls[next(self._next_url)]
            try:
                response = await self._http.request(method, url + path, **kwargs)
            except httpx.TimeoutException as exc:
                last_error = MLError(ErrorCode.ML_TIMEOUT, f"{url} did not answer in time ({type(exc).__name__})")
                continue
            except httpx.HTTPError as exc:
                last_error = MLError(ErrorCode.ML_UNAVAILABLE, f"{url} is unreachable ({type(exc).__name__})")
                continue
            if response.status_code == 401:
                raise MLError(ErrorCode.ML_UNAUTHORIZED, f"{url} refused the API key (401): check SIGHTLINE_API_KEY")
            if response.status_code >= 500:
                last_error = MLError(ErrorCode.ML_UNAVAILABLE, f"{url} answered {response.status_code}")
                continue
            if response.status_code >= 400:
                raise MLError(ErrorCode.ML_UNAVAILABLE,
                              f"{url} refused the request ({response.status_code}): {response.text[:300]}")
            if loaded is not None and not loaded(response):
                last_error = MLError(ErrorCode.ML_UNAVAILABLE, f"{url} is still loading its models; try again soon")
                continue
            return response
        assert last_error is not None
        raise last_error


def _models_loaded(response: httpx.Response) -> bool:
    """Capabilities answered while the models load carry no model facts (`models_loaded: false`)."""
    try:
        return response.json().get("models_loaded") is not False
    except ValueError:
        return False
