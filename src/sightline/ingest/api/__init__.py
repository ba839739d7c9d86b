"""The ingestion API's routes, one module per resource; each handler reaches the services through
`ServicesDep`."""

from sightline.ingest.services import ServicesDep

__all__ = ["ServicesDep"]
