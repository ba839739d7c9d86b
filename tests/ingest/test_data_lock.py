"""One ingestion service per data directory: a real second process is refused, with the first one's pid, until
the first one ends (killed: the kernel drops its lock)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sightline.config import IngestSettings
from sightline.errors import SightlineError
from sightline.ingest import data_lock
from sightline.ingest.app import build_services
from sightline.ingest.uploads import STAGING_PREFIX

HOLD_UNTIL_KILLED = """
import sys, time
from pathlib import Path
from sightline.ingest import data_lock
data_lock.hold(Path(sys.argv[1]))
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def other_process(tmp_path: Path) -> Iterator[subprocess.Popen]:
    child = subprocess.Popen([sys.executable, "-c", HOLD_UNTIL_KILLED, str(tmp_path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "held\n"
    yield child
    child.kill()
    child.wait()


def test_a_second_process_is_refused_with_the_first_ones_pid(tmp_path: Path, other_process) -> None:
    with pytest.raises(SightlineError) as refused:
        data_lock.hold(tmp_path)
    assert (refused.value.code, refused.value.where, refused.value.status) == ("CONFLICT", "data_dir", 409)
    assert refused.value.message.startswith(
        f"Another Sightline ingestion service (pid {other_process.pid}) is using the data directory {tmp_path}.")


def test_the_lock_is_free_once_its_process_is_killed(tmp_path: Path, other_process) -> None:
    other_process.kill()
    other_process.wait()
    data_lock.hold(tmp_path)
    data_lock.release(tmp_path)


def test_the_service_does_not_open_a_data_dir_another_process_uses(tmp_path: Path, other_process) -> None:
    settings = IngestSettings(data_dir=tmp_path, ml_url="http://127.0.0.1:9", ingest_roots=str(tmp_path))
    staging = settings.uploads_dir / f"{STAGING_PREFIX}another-services-upload"
    staging.mkdir(parents=True)
    with pytest.raises(SightlineError, match="is using the data directory"):
        build_services(settings)
    assert staging.exists()  # its upload in progress is not taken for one a killed process left
    assert not (tmp_path / "sightline.db").exists()


def test_one_process_may_hold_it_again_and_the_last_release_frees_it(tmp_path: Path) -> None:
    data_lock.hold(tmp_path)
    data_lock.hold(tmp_path)
    data_lock.release(tmp_path)
    check = [sys.executable, "-c", "import sys; from pathlib import Path; from sightline.ingest import data_lock;"
             " data_lock.check_free(Path(sys.argv[1]))", str(tmp_path)]
    assert subprocess.run(check, capture_output=True).returncode == 1  # still held once
    data_lock.release(tmp_path)
    assert subprocess.run(check, capture_output=True).returncode == 0
