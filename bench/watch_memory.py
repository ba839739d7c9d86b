"""Memory of watching a source (issue 11): the process's RSS before and after `watchfiles` starts watching a
tree of `--files` empty files (100 per folder), with inotify and with polling (network mounts).

    python bench/watch_memory.py --files 100000
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from watchfiles import awatch


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def watched_rss(root: Path, polling: bool) -> float:
    """RSS once the watcher has gone through its first quiet period (its watches or its poll state are set up)."""
    stop = asyncio.Event()
    async for _ in awatch(root, stop_event=stop, force_polling=polling, poll_delay_ms=500, rust_timeout=2000,
                          yield_on_timeout=True):
        used = rss_mib()
        stop.set()
        return used
    return rss_mib()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for index in range(args.files):
            folder = root / f"d{index // 100:05d}"
            if index % 100 == 0:
                folder.mkdir()
            (folder / f"{index:06d}.jpg").touch()
        for polling in (False, True):
            before = rss_mib()
            after = asyncio.run(watched_rss(root, polling))
            print(f"{args.files} files, {'polling' if polling else 'inotify'}: RSS {before:.1f} → {after:.1f} MiB "
                  f"(+{after - before:.1f} MiB)")


if __name__ == "__main__":
    main()
