"""A full disk is an error, never a crash: the embedded store on a small tmpfs answers DISK_FULL (507) for
creates and upserts, keeps serving reads, and takes writes again once there is room, with nothing lost.

The store runs in a child process: without the free-space checks, the shard's memory-mapped writes on the full
tmpfs kill it with SIGBUS (exit 135 in a shell), which must not take the test run down with it. The parent
drives it step by step over stdin and changes the room on the disk in between (remount, a filler file).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sightline.ingest.disk import DEFAULT_RESERVE_BYTES, free_bytes

MIB = 1024 * 1024

CHILD = """
import sys, uuid
from sightline.errors import SightlineError
from sightline.ingest.vectors import CollectionParams, Point, open_store

store = open_store(sys.argv[1])
def point(i):
    return Point(str(uuid.UUID(int=i + 1)), [1.0, float(i % 7), 0.5, 2.0] * 96, {"path": f"/photos/{i}.jpg"})
def attempt(what, write):
    try:
        write()
        print(what, "ok", flush=True)
    except SightlineError as e:
        print(what, e.code, e.status, flush=True)
    sys.stdin.readline()  # the parent changes the disk, then says go on
attempt("create", lambda: store.create_collection("photos", CollectionParams(vector_size=384)))
attempt("create", lambda: store.create_collection("photos", CollectionParams(vector_size=384)))
attempt("upsert", lambda: store.upsert("photos", [point(i) for i in range(200)]))
attempt("upsert", lambda: store.upsert("photos", [point(i) for i in range(200, 300)]))
print("count", store.count("photos"), "search", len(store.search("photos", [1.0] * 384, limit=5)), flush=True)
sys.stdin.readline()
attempt("upsert", lambda: store.upsert("photos", [point(i) for i in range(200, 300)]))
store.close()
print("count", open_store(sys.argv[1]).count("photos"), flush=True)
"""


@contextmanager
def tmpfs(path: Path, size_mib: int) -> Iterator[Path]:
    """A tmpfs of `size_mib` mounted at `path` (root only), always unmounted."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(path)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def resize(mount: Path, size_mib: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size_mib}m", str(mount)], check=True)


def fill(mount: Path, leave_bytes: int) -> Path:
    """A filler file that leaves `leave_bytes` free on the tmpfs."""
    filler = mount / "filler"
    with open(filler, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, free_bytes(mount) - leave_bytes)
    return filler


def test_a_full_disk_is_disk_full_not_sigbus_and_writes_resume_when_room_returns(tmp_path):
    with tmpfs(tmp_path / "mnt", 30) as mount:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(mount / "data")], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            def step(then=None) -> str:
                line = child.stdout.readline().strip()
                assert line, f"the store process died: exit {child.wait()}: {child.stderr.read()[-2000:]}"
                if then:
                    then()
                child.stdin.write("\n")
                child.stdin.flush()
                return line

            assert step(lambda: resize(mount, 300)) == "create DISK_FULL 507"  # 30 MiB: SIGBUS before
            assert step() == "create ok"
            assert step(lambda: fill(mount, DEFAULT_RESERVE_BYTES - 8 * MIB)) == "upsert ok"
            assert step() == "upsert DISK_FULL 507"
            assert step((mount / "filler").unlink) == "count 200 search 5"  # reads go on
            assert step() == "upsert ok"
            assert child.stdout.readline().strip() == "count 300"  # nothing lost, reopened
            assert child.wait(timeout=60) == 0
        finally:
            child.kill()
            child.wait()
