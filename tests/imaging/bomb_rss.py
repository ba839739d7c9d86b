"""Peak RSS of decoding each decompression bomb, one fresh subprocess per file and operation.

    .venv/bin/python -m tests.imaging.bomb_rss            # the table (decode_image, then make_thumbnail)

Not a test: it prints figures for the report (no timing or memory assertions on shared machines).
"""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import resource, sys
from tests import samples
from sightline.imaging import decode_image, make_thumbnail
data = samples.BOMBS[sys.argv[1]]()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    decode_image(data) if sys.argv[2] == "decode" else make_thumbnail(data, 320)
    outcome = "decoded"
except Exception as exc:
    outcome = getattr(getattr(exc, "code", None), "value", type(exc).__name__)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{len(data)}\\t{(peak - before) / 1024:.0f}\\t{outcome}")
"""


def measure(bomb: str, operation: str) -> str:
    done = subprocess.run([sys.executable, "-c", CHILD, bomb, operation], capture_output=True, text=True)
    return done.stdout.strip() or f"?\t?\t{done.stderr.strip().splitlines()[-1:]}"


def main() -> None:
    from tests.samples import BOMBS

    print("bomb\tbytes\toperation\tpeak RSS increase (MB)\toutcome")
    for bomb in BOMBS:
        for operation in ("decode", "thumbnail"):
            size, rss, outcome = measure(bomb, operation).split("\t")
            print(f"{bomb}\t{size}\t{operation}\t{rss}\t{outcome}")


if __name__ == "__main__":
    main()
