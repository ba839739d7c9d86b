"""Settings of both services: every variable is SIGHTLINE_*, one Settings class per service."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def split_csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "sightline"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIGHTLINE_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default_factory=default_data_dir, description="Where all state lives.")
    api_key: str = Field(default="", description="Comma-separated valid ML API keys (several for rotation).")
    log_level: str = "info"
    max_decode_bytes: int = Field(default=1_000_000_000, ge=16_000_000, description="Memory all image decodes of "
                                  "a process may hold at once, estimated from headers; one over it: IMAGE_TOO_LARGE.")
    allowed_hosts: str = Field(
        default="", description="Comma-separated host names this service answers to besides loopback names "
        "and IP addresses (`*.example.org` for sub-domains, `*` for any): the defence against DNS rebinding.",
    )

    @property
    def api_keys(self) -> list[str]:
        return split_csv(self.api_key)

    @property
    def allowed_host_names(self) -> list[str]:
        return split_csv(self.allowed_hosts)


class MLSettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = 8001
    models: Literal["lite", "clip", "tiny"] = "lite"
    clip_model: str = Field(
        default="openai/clip-vit-base-patch32",
        validation_alias=AliasChoices("SIGHTLINE_CLIP_MODEL", "CLIP_MODEL", "clip_model"),
    )
    caption_model: str = Field(
        default="Salesforce/blip-image-captioning-base",
        validation_alias=AliasChoices("SIGHTLINE_CAPTION_MODEL", "BLIP_MODEL", "caption_model"),
    )
    device: str = Field(
        default="auto", validation_alias=AliasChoices("SIGHTLINE_DEVICE", "DEVICE", "device")
    )
    max_batch_size: int = Field(
        default=128, ge=1,
        description="Images a request decodes and holds at once; a larger request is processed in groups of this size.",
    )
    model_batch_size: int = Field(default=32, ge=1, description="Images per forward pass (chunk size).")
    max_request_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024)
    max_image_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(default=180_000_000, ge=1, description="Decompression-bomb limit.")
    decode_workers: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1)
    model_threads: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1)
    lite_precision: Literal["int8", "fp32"] = Field(
        default="fp32", description="`lite` image model: fp32, or its int8 copy (made once in the model cache). "
        "int8 vectors are close to fp32's, not equal (docs/models.md); fp32 was faster on AVX2 CPUs.")


class IngestSettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = 8002
    ml_url: str = Field(default="http://127.0.0.1:8001", description="Comma-separated ML service URLs.")
    ml_timeout: float = Field(default=300.0, gt=0)
    ml_interactive_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a call a person waits on (search, status) gives the ML service.")
    ml_retries: int = Field(default=6, ge=0)
    ml_backoff: float = Field(default=0.5, ge=0, description="First retry delay in seconds; doubles.")
    ml_batch_size: int | None = Field(default=None, ge=1, description="Default: from ML capabilities.")
    ml_upload: Literal["original", "reduced"] = Field(
        default="original",
        description="What is sent to the ML service: the original files, or each decoded and reduced here to the "
                    "model's input size (for ML replicas on GPUs, whose CPUs should not decode; docs/scaling.md).",
    )
    batches_in_flight: int = Field(default=2, ge=1)
    store_flush_seconds: float = Field(
        default=1.0, ge=0, description="Embedded store: flush segments at most this often (0: every write). "
        "Its write-ahead log already keeps every acknowledged write across a killed process.",
    )
    store_process: bool = Field(
        default=True, description="Embedded store: run the engine in a process of its own, so that its pauses "
        "(closing a shard after an index build, a flush waiting for the disk) never stop the service.",
    )
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    ingest_roots: str = Field(default="", description="Comma-separated folders that scans may read.")
    admin_token: str | None = None
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1, description="Largest single file.")
    max_request_bytes: int = Field(default=8 * 1024**3, ge=1024, description="Largest upload request (all files).")
    max_image_pixels: int = Field(default=180_000_000, ge=1)
    thumbnail_size: int = Field(default=320, ge=32, le=2048)
    index_min_points: int = Field(default=20_000, ge=1, description="Embedded store: build a collection's vector "
                                  "index (HNSW) after a job once it holds this many points; below, search is exact.")
    source_settle_seconds: float = Field(default=3.0, gt=0, description="Watched sources: a file is ingested once "
                                         "its size and modification time stayed the same this long.")
    source_force_polling: bool = Field(default=False, description="Watch sources by polling (network mounts "
                                       "where change notifications never arrive).")
    source_poll_ms: int = Field(default=1000, ge=10, description="Polling interval when polling.")
    source_offline_check_seconds: float = Field(default=30.0, gt=0, description="How often an offline source's "
                                                "folder is looked for again.")
    content_cache_entries: int = Field(default=1024, ge=0, description="Embeddings a job keeps in memory to "
                                       "reuse for identical content (older ones are looked up in the store).")

    @property
    def ml_urls(self) -> list[str]:
        return [url.rstrip("/") for url in split_csv(self.ml_url)]

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def roots(self) -> list[Path]:
        """Folders that scans and originals are confined to; uploads are always one of them."""
        configured = [Path(p).expanduser().resolve() for p in split_csv(self.ingest_roots)]
        return [*configured, self.uploads_dir.resolve()]
