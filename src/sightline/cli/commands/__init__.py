"""The API-client commands of `sightline`, one module per resource of the ingestion service."""
