"""Source tests run the ingestion app in-process (see `helpers.source_app`) against the session's ML app."""

from tests.ingest.api.conftest import loaded_ml_app  # noqa: F401  (the ML app with its models loaded)
