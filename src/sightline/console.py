"""The `sightline` command. Its imports take about a second; Ctrl-C meanwhile ends it quietly (status 130, as
a shell reports an interrupt), without a traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from sightline.cli import app
    except KeyboardInterrupt:
        sys.exit(130)
    app()
