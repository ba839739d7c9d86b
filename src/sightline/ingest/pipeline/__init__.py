"""The ingestion pipeline, one stage per module (like clip-retrieval's reader → mapper → writer → runner):

    scan.py         a scan job's folder → pending files in the job store
    fingerprint.py  stat, unchanged detection, hashing, reuse of known content    (reader)
    embed.py        one ML call per batch; same content shares one result          (mapper)
    write.py        upsert the points, then record each file's outcome             (writer)
    run.py          JobRun: one job through the stages, batches in flight, final state
    runner.py       JobRunner: the queue of jobs, resumed at start-up
    work.py         what one file carries between stages; stable point ids
    payload.py      the payload schema of every point

Every file's outcome is written to the job store only after its point is stored, so a killed process
resumes from the job store with nothing lost, and stable point ids mean nothing is duplicated.
"""

from sightline.ingest.pipeline.run import JobRun
from sightline.ingest.pipeline.runner import JobRunner
from sightline.ingest.pipeline.work import point_id_for

__all__ = ["JobRun", "JobRunner", "point_id_for"]
