"""Sightline: self-hosted image ingestion and semantic search."""

__version__ = "0.1.0"
