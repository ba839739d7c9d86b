"""A typed client of the ingestion service's HTTP API, each URL written once.

Every failure (service down, timeout, an error answer, an answer that is not JSON) becomes one `ApiError`
with a message fit to print as is. Answers are the API's JSON, returned whole (a `--json` flag prints them).
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

import httpx

__all__ = ["DEFAULT_URL", "ApiError", "IngestClient", "Json"]

DEFAULT_URL = "http://127.0.0.1:8002"
Json = dict[str, Any]


class ApiError(Exception):
    """What went wrong, as one printable line; `code` / `where` come from the service's error answers."""

    def __init__(self, message: str, code: str | None = None, where: str | None = None):
        super().__init__(message)
        self.code = code
        self.where = where

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        """`CODE: message` from the services' `{"error": {"code", "message", "where"}}` answers."""
        try:
            error = response.json()["error"]
            return cls(f"{error['code']}: {error['message']}", error["code"], error.get("where"))
        except (ValueError, KeyError, TypeError):
            text = response.text.strip()
            first_line = text.splitlines()[0][:200] if text else response.reason_phrase
            return cls(f"HTTP {response.status_code}: {first_line}")


class IngestClient:
    """The ingestion service at `url`; `token` is sent as `Authorization: Bearer` when given.

    `transport` replaces the network (e.g. `httpx.MockTransport`, or an in-process app in tests)."""

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, *, timeout: float = 120.0,
                 transport: httpx.BaseTransport | None = None):
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> IngestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- collections ---

    def collections(self) -> Json:
        """`{"collections": [info, ...]}`."""
        return self._call("GET", "/api/v1/collections")

    def collection(self, name: str) -> Json:
        return self._call("GET", f"/api/v1/collections/{name}")

    def create_collection(self, name: str, **params: Any) -> Json:
        """`params`: the API's optional fields (distance, on_disk, hnsw, quantization, vector_size)."""
        return self._call("POST", "/api/v1/collections", json={"name": name, **params})

    def delete_collection(self, name: str) -> None:
        self._call("DELETE", f"/api/v1/collections/{name}")

    def index_status(self, name: str) -> Json:
        """The embedded store's vector index of a collection: `{"state": "building"|"idle", "last_build",
        "automatic_from_points"}`."""
        return self._call("GET", f"/api/v1/collections/{name}/index")

    def build_index(self, name: str, *, threshold_kb: int | None = None) -> Json:
        """Start building the index now (CONFLICT if a build runs or the store builds its own)."""
        params = {"threshold_kb": threshold_kb} if threshold_kb is not None else {}
        return self._call("POST", f"/api/v1/collections/{name}/index", params=params)

    # --- images ---

    def delete_images(self, collection: str, point_ids: list[str]) -> Json:
        """Remove points (1-1000) from the index; the originals stay on disk: `{"deleted": n, "missing": [id]}`."""
        return self._call("POST", "/api/v1/images/delete", json={"collection": collection, "point_ids": point_ids})

    # --- ingestion and jobs ---

    def upload(self, collection: str, files: list[Path], *, caption: bool = True) -> Json:
        """Start a job ingesting a copy of `files` (from this machine), kept under the service's data folder:
        `{"job_id", "files", ...}`."""
        handles = [path.open("rb") for path in files]
        try:
            parts = [("files", (path.name, handle, mimetypes.guess_type(path.name)[0] or "application/octet-stream"))
                     for path, handle in zip(files, handles)]
            form = {"collection": collection, "caption": "true" if caption else "false"}
            return self._call("POST", "/api/v1/ingest/upload", data=form, files=parts)
        finally:
            for handle in handles:
                handle.close()

    def scan(self, collection: str, directory: str, *, recursive: bool = True, caption: bool = True) -> Json:
        """Start a job ingesting `directory` (a folder on the service's machine): `{"job_id", ...}`."""
        body = {"collection": collection, "directory_path": directory, "recursive": recursive, "caption": caption}
        return self._call("POST", "/api/v1/ingest/scan", json=body)

    def jobs(self, *, collection: str | None = None, states: list[str] | None = None, limit: int = 20) -> Json:
        """`{"jobs": [job, ...]}`, newest first."""
        params: Json = {"limit": limit}
        if collection:
            params["collection"] = collection
        if states:
            params["state"] = states
        return self._call("GET", "/api/v1/jobs", params=params)

    def job(self, job_id: str) -> Json:
        return self._call("GET", f"/api/v1/jobs/{job_id}")

    def job_errors(self, job_id: str, *, limit: int | None = None) -> Json:
        """`{"errors": [...]}`: path, stage, code, message, retriable, at."""
        params = {"limit": limit} if limit is not None else {}
        return self._call("GET", f"/api/v1/jobs/{job_id}/errors", params=params)

    def job_logs(self, job_id: str, *, after_id: int = 0, limit: int = 5000) -> Json:
        """`{"logs": [{"id", "at", "level", "message"}, ...]}` after the line `after_id`."""
        return self._call("GET", f"/api/v1/jobs/{job_id}/logs", params={"after_id": after_id, "limit": limit})

    def cancel(self, job_id: str) -> Json:
        return self._call("POST", f"/api/v1/jobs/{job_id}/cancel")

    def retry(self, job_id: str) -> Json:
        """`{"retried": n, ...}`: the job is queued again for its failed files."""
        return self._call("POST", f"/api/v1/jobs/{job_id}/retry")

    # --- search ---

    def search(self, collection: str, text: str | None = None, *, limit: int = 10, min_score: float | None = None,
               filters: Json | None = None, cursor: str | None = None, order: str | None = None) -> Json:
        """A page of results for `text`; without text, a page of the collection newest (or `order`) first."""
        body: Json = {"collection": collection, "limit": limit}
        optional = {"text": text, "score_threshold": min_score, "filters": filters or None, "cursor": cursor,
                    "order": order}
        body.update({key: value for key, value in optional.items() if value is not None})
        return self._call("POST", "/api/v1/search", json=body)

    def search_image(self, collection: str, image: Path, *, limit: int = 10, min_score: float | None = None,
                     filters: Json | None = None, cursor: str | None = None) -> Json:
        form = {"collection": collection, "limit": str(limit)}
        if min_score is not None:
            form["score_threshold"] = str(min_score)
        if filters:
            form["filters"] = json.dumps(filters)
        if cursor:
            form["cursor"] = cursor
        mime = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
        with image.open("rb") as handle:
            return self._call("POST", "/api/v1/search/image", data=form, files={"image": (image.name, handle, mime)})

    def point(self, collection: str, point_id: str) -> Json:
        """One image: its payload, `facts` in words and `technical` details."""
        return self._call("GET", f"/api/v1/collections/{collection}/points/{point_id}")

    # --- review: duplicates, merge, random ---

    def duplicates(self, collection: str, *, kind: str = "exact", threshold: float | None = None,
                   limit: int = 50) -> Json:
        """`{"state": "ready"|"scanning", "groups": [...], "task"?}` (see the API's duplicates route)."""
        params: Json = {"kind": kind, "limit": limit}
        if threshold is not None:
            params["threshold"] = threshold
        return self._call("GET", f"/api/v1/collections/{collection}/duplicates", params=params)

    def review_task(self, task_id: str) -> Json:
        return self._call("GET", f"/api/v1/review/tasks/{task_id}")

    def merge(self, collection: str, into: str) -> Json:
        return self._call("POST", f"/api/v1/collections/{collection}/merge", json={"into": into})

    def random(self, collection: str, *, limit: int = 1) -> Json:
        return self._call("GET", f"/api/v1/collections/{collection}/random", params={"limit": limit})

    # --- the one place that talks HTTP ---

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise ApiError(f"the ingestion service is not running at {self.url} — start it with `sightline up` "
                           "(or pass --url / set SIGHTLINE_URL if it runs elsewhere)") from None
        except httpx.TimeoutException:
            raise ApiError(f"the ingestion service at {self.url} did not answer in time") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ApiError(f"cannot reach the ingestion service at {self.url}: {exc}") from None
        if response.is_error:
            raise ApiError.from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"{self.url}{path} did not answer JSON: is this a Sightline service?") from None

    # --- sources (folders a collection follows) ---

    def sources(self, collection: str) -> Json:
        """`{"sources": [source, ...]}`."""
        return self._call("GET", f"/api/v1/collections/{collection}/sources")

    def add_source(self, collection: str, path: str, **fields: Any) -> Json:
        """`fields`: watch, exclude, rescan_minutes. The answer carries the first sync's `job_id`."""
        return self._call("POST", f"/api/v1/collections/{collection}/sources", json={"path": path, **fields})

    def edit_source(self, collection: str, source_id: str, **fields: Any) -> Json:
        return self._call("PATCH", f"/api/v1/collections/{collection}/sources/{source_id}", json=fields)

    def remove_source(self, collection: str, source_id: str, *, remove_points: bool = False) -> None:
        self._call("DELETE", f"/api/v1/collections/{collection}/sources/{source_id}",
                   params={"remove_points": "true" if remove_points else "false"})

    def sync_source(self, collection: str, source_id: str) -> Json:
        return self._call("POST", f"/api/v1/collections/{collection}/sources/{source_id}/sync")

    def forget_removed(self, collection: str, source_id: str) -> Json:
        """`{"forgotten": n, "job_id"}`: the source's remembered removals forgotten, a sync started."""
        return self._call("DELETE", f"/api/v1/collections/{collection}/sources/{source_id}/removed")
