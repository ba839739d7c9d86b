"""The ingestion API's routes, one module per resource; each handler reaches the services through
`ServicesDep`."""

from typing import Annotated

from fastapi import Depends

from sightline.ingest.services import Services, get_services

ServicesDep = Annotated[Services, Depends(get_services)]

__all__ = ["ServicesDep"]
