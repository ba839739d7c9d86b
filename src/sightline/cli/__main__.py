"""`python -m sightline.cli`: what `sightline up` runs its services with."""

from sightline.cli import app

app()
