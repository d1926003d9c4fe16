"""Exports of reviewed cases, run as RQ jobs: atomic, detected when lost, deleted when expired.

A case is marked exported only in the transaction that records the finished file (status
done + SHA-256), so a failed, killed or lost run marks nothing: "only cases not yet
exported" then finds every case it did not deliver. The file is written to a `.part`
name and renamed once complete.
"""
from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import redis
from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from .. import audit
from ..auth.models import User
from ..cases.models import Case
from ..contacts.models import Contact
from ..extensions import db, rowcount
from ..jobs import enqueue_after_commit
from ..rules import RuleError
from ..timeutil import utcnow
from .export_rows import (  # noqa: F401
    COLUMNS,
    PERSONAL,
    _chunk_details,
    _row,
    _write_csv,
    _write_xlsx,
    among,
    case_ids,
    clean_filters,
    export_query,
    london_minutes,
    neutralise,
)
from .models import ExportBatch

KEEP_DAYS = 30
# rows per chunk: one progress commit (and a few SELECTs) each; marking goes by chunks too
PROGRESS_EVERY = 2000
FAILED_MESSAGE = "Failed — nothing was marked exported. Try again."
# A running export touches heartbeat_at at every chunk (PROGRESS_EVERY rows, well under a
# second); one silent for this long lost its worker. Settings override these defaults.
STALE_SECONDS = 300
QUEUED_GRACE_SECONDS = 30  # a job is enqueued just after the commit that made the batch
TIMEOUT_BASE_SECONDS = 120
# XLSX ran at ~2,000 rows/s (issue 13) and at 444 rows/s on 2 CPUs at load average 10
# (benchmarks/export.py, 100,000 rows): 200 rows/s still leaves a margin
TIMEOUT_PER_ROW_SECONDS = 0.005
UNFINISHED = ("queued", "running")

RUN_EXPORT = "helpline.review.tasks.run_export"  # the job, by name (tasks imports us)


class ExportLost(RuntimeError):
    """The batch stopped being ours (marked failed as lost, or another export won)."""


def _setting(name: str, default: float) -> float:
    value = current_app.config.get(name)
    return float(default if value is None else value)


def job_timeout(rows: int) -> int:
    """Seconds an export of `rows` cases may run before RQ stops it."""
    return int(_setting("EXPORT_TIMEOUT_BASE_SECONDS", TIMEOUT_BASE_SECONDS)
               + rows * _setting("EXPORT_TIMEOUT_PER_ROW_SECONDS", TIMEOUT_PER_ROW_SECONDS))


def job_id(batch_id: int) -> str:
    return f"export-{batch_id}"


# --- who may do what ----------------------------------------------------------------

def may_export_personal(user: User) -> bool:
    """Personal-data exports are for the data team only (not administrators)."""
    return user.role == "data"


def may_download(batch: ExportBatch, user: User) -> bool:
    """The person who made the export, or a data-team lead; personal data only for those
    who may create it."""
    if batch.with_personal and not may_export_personal(user):
        return False
    return batch.created_by_id == user.id or (bool(user.data_lead) and user.has_role("data"))


def _rows(batch_id: int, personal: bool, ids: list[int]) -> Iterator[list]:
    """Rows for the export, read with plain SQL in chunks of ids (a range where they run on,
    constant memory, no ORM objects). After each chunk the progress (and heartbeat) is
    committed; nothing else is written."""
    reviewer, fmt = aliased(User), london_minutes()
    for start in range(0, len(ids), PROGRESS_EVERY):
        chunk = ids[start:start + PROGRESS_EVERY]
        wanted, more = set(chunk), _chunk_details(chunk, personal)
        rows = db.session.connection().execute(
            select(Case.id, Case.created_at, Case.updated_at, Case.reviewed_at, reviewer.name,
                   Contact.region, Contact.postcode_area, Case.who_requires_support,
                   Case.psychosocial_support, Case.safeguarding_activated, Case.feedback_consent,
                   Contact.first_name, Contact.last_name, Contact.phone, Contact.consent_status,
                   Case.safeguarding_reason)
            .join(Contact, Case.caller_id == Contact.id)
            .outerjoin(reviewer, Case.reviewed_by_id == reviewer.id)
            .where(among(Case.id, chunk, 4)).order_by(Case.id)).all()
        for r in rows:
            if r[0] in wanted:
                yield _row(r, more, personal, fmt)
        _progress(batch_id, start + len(chunk))


# --- the batch's life: start, claim, progress, finish, fail ---------------------------

def start_export(filters: dict, fmt: str, with_personal: bool, actor: User,
                 again_of: int | None = None) -> ExportBatch:
    """Log the batch and run it as a job after the commit, its timeout fitted to its size."""
    if with_personal and not may_export_personal(actor):
        raise RuleError("Only the data team can export personal data", field="with_personal")
    if fmt not in ("csv", "xlsx"):
        raise RuleError("Choose CSV or XLSX", field="fmt")
    filters = clean_filters(filters)
    rows = db.session.scalar(select(func.count()).select_from(
        export_query(filters).with_only_columns(Case.id).subquery())) or 0
    batch = ExportBatch(created_by_id=actor.id, filters=filters, fmt=fmt,
                        with_personal=with_personal, total=rows, heartbeat_at=utcnow())
    db.session.add(batch)
    db.session.flush()
    audit.record(actor, "export", "export batch", batch.id,
                 reason=f"{fmt.upper()}{' with personal data' if with_personal else ''}; "
                        f"filters {filters}" + (f"; again after {again_of}" if again_of else ""))
    # no RQ retries: a failed export says so and the user starts it again
    enqueue_after_commit(RUN_EXPORT, batch.id, job_id=job_id(batch.id),
                         timeout=job_timeout(rows), retry=None)
    return batch


def __getattr__(name: str):
    """A job queued before the job moved to review/tasks.py (helpline.review.exports.
    run_export) still resolves."""
    if name == "run_export":
        from .tasks import run_export  # tasks imports this module: resolved when asked
        return run_export
    raise AttributeError(name)


def _claim(batch_id: int, final: Path) -> bool:
    """queued → running, once: a second copy of the job (or a retry) does nothing."""
    done = db.session.execute(update(ExportBatch).where(
        ExportBatch.id == batch_id, ExportBatch.status == "queued").values(
        status="running", heartbeat_at=utcnow(), file_path=str(final)))
    db.session.commit()
    return rowcount(done) == 1


def _progress(batch_id: int, done_rows: int, total: int | None = None) -> None:
    values = {"done_rows": done_rows, "heartbeat_at": utcnow()}
    if total is not None:
        values["total"] = total
    result = db.session.execute(update(ExportBatch).where(
        ExportBatch.id == batch_id, ExportBatch.status == "running").values(**values))
    db.session.commit()
    if rowcount(result) != 1:
        raise ExportLost("this export was marked failed while it ran")


def _mark_cases(batch_id: int, ids: list[int], only_unexported: bool) -> None:
    marked = 0
    for start in range(0, len(ids), PROGRESS_EVERY):
        # exactly these ids: a BETWEEN only where they run on without a gap
        stmt = update(Case).where(among(Case.id, ids[start:start + PROGRESS_EVERY]))
        if only_unexported:
            stmt = stmt.where(Case.export_batch_id.is_(None))
        # one statement per chunk (an export marks cases; it is not an edit of them)
        marked += rowcount(db.session.execute(stmt.values(
            export_batch_id=batch_id).execution_options(synchronize_session=False))) or 0
    if marked != len(ids):
        raise ExportLost(f"{len(ids) - marked} of these cases were exported by another "
                         f"export meanwhile")


def _finish(batch_id: int, ids: list[int], only_unexported: bool, path: Path,
            digest: str) -> None:
    """One transaction: mark the cases and record the finished file, or nothing."""
    now = utcnow()
    _mark_cases(batch_id, ids, only_unexported)
    result = db.session.execute(update(ExportBatch).where(
        ExportBatch.id == batch_id, ExportBatch.status == "running").values(
        status="done", sha256=digest, file_path=str(path), total=len(ids), done_rows=len(ids),
        finished_at=now, heartbeat_at=now, expires_at=now + timedelta(days=KEEP_DAYS)))
    if rowcount(result) != 1:
        raise ExportLost("this export was marked failed while it ran")
    db.session.commit()


def _fail(batch_id: int, exc: BaseException) -> None:
    db.session.rollback()
    db.session.execute(update(ExportBatch).where(
        ExportBatch.id == batch_id, ExportBatch.status.in_(UNFINISHED)).values(
        status="failed", error=f"{type(exc).__name__}: {exc}"[:2000], heartbeat_at=utcnow()))
    db.session.commit()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_export(batch_id: int) -> str:
    """Write the export file in constant memory, with progress; all or nothing; idempotent
    (the job is review.tasks.run_export)."""
    batch = db.session.get(ExportBatch, batch_id)
    if batch is None:
        return "nothing to do"
    personal, fmt, filters = batch.with_personal, batch.fmt, dict(batch.filters)
    folder = Path(current_app.config["EXPORT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"export-{batch_id}.{fmt}"
    part = folder / f".export-{batch_id}.{fmt}.part"
    if not _claim(batch_id, final):
        return "nothing to do"
    finished = False
    try:
        ids = case_ids(filters)
        _progress(batch_id, 0, total=len(ids))
        header = COLUMNS + (PERSONAL if personal else [])
        (_write_xlsx if fmt == "xlsx" else _write_csv)(
            part, header, _rows(batch_id, personal, ids),
            training=bool(current_app.config.get("TRAINING")))
        _progress(batch_id, len(ids))  # heartbeat before the last, quiet steps
        digest = _sha256(part)
        os.replace(part, final)
        _finish(batch_id, ids, bool(filters.get("not_exported")), final, digest)
        finished = True
    except BaseException as exc:  # also RQ's timeout and a SystemExit from a stopping worker
        _fail(batch_id, exc)
        raise
    finally:
        part.unlink(missing_ok=True)
        if not finished:
            final.unlink(missing_ok=True)
    return "done"


# --- lost jobs and expired files ------------------------------------------------------

def _job_alive(batch_id: int) -> bool | None:
    """Whether RQ still holds a live job for the batch (None: Redis cannot be asked)."""
    try:
        job = Job.fetch(job_id(batch_id), connection=current_app.extensions["redis"])
        # a finished job whose batch is still unfinished died between its last two steps
        return job.get_status(refresh=False) not in (JobStatus.FAILED, JobStatus.STOPPED,
                                                     JobStatus.CANCELED, JobStatus.FINISHED)
    except NoSuchJobError:
        return False
    except redis.RedisError:
        return None


def lost_reason(batch: ExportBatch, now: datetime) -> str | None:
    """Why an unfinished batch will never finish, or None while it may still."""
    if batch.status not in UNFINISHED:
        return None
    last = batch.heartbeat_at or batch.created_at
    if batch.status == "running" and last < now - timedelta(
            seconds=_setting("EXPORT_STALE_SECONDS", STALE_SECONDS)):
        return "The export stopped responding (its worker was stopped or lost)."
    if last >= now - timedelta(seconds=_setting("EXPORT_QUEUED_GRACE_SECONDS",
                                                QUEUED_GRACE_SECONDS)):
        return None
    alive = _job_alive(batch.id)
    if alive is False:
        return "The export's job was lost (the queue no longer holds it)."
    if alive is None and last < now - timedelta(
            seconds=_setting("EXPORT_STALE_SECONDS", STALE_SECONDS)):
        return "The export could not be run (the job queue is unreachable)."
    return None


def mark_lost(batches: list[ExportBatch] | None = None, now: datetime | None = None) -> list[int]:
    """Mark unfinished batches whose job is gone as failed (nothing was marked exported).
    The caller commits."""
    now = now or utcnow()
    if batches is None:
        batches = list(db.session.scalars(select(ExportBatch).where(
            ExportBatch.status.in_(UNFINISHED))))
    lost = []
    for batch in batches:
        reason = lost_reason(batch, now)
        if reason:
            # only if it has not moved meanwhile (`== None` renders IS NULL)
            result = db.session.execute(update(ExportBatch).where(
                ExportBatch.id == batch.id, ExportBatch.status == batch.status,
                ExportBatch.heartbeat_at == batch.heartbeat_at)
                .values(status="failed", error=reason))
            if rowcount(result):
                lost.append(batch.id)
    if lost:
        db.session.expire_all()
    return lost


def expire_files(now: datetime | None = None) -> list[int]:
    """Delete the files of exports past their 30 days (and leftovers of failed ones);
    the batch row stays in the log as expired. Commits."""
    now = now or utcnow()
    expired = list(db.session.scalars(select(ExportBatch.id).where(
        ExportBatch.status == "done", ExportBatch.expires_at < now)))
    if expired:
        db.session.execute(update(ExportBatch).where(ExportBatch.id.in_(expired),
                                                     ExportBatch.status == "done")
                           .values(status="expired"))
        db.session.commit()  # refuse downloads first, then delete
    leftovers = db.session.execute(select(ExportBatch.id, ExportBatch.file_path, ExportBatch.fmt)
                                   .where(ExportBatch.status.in_(("expired", "failed")),
                                          ExportBatch.file_path.is_not(None))).all()
    folder = Path(current_app.config["EXPORT_DIR"])
    for batch_id, path, fmt in leftovers:
        assert path is not None  # the query takes only rows with a file_path
        Path(path).unlink(missing_ok=True)
        (folder / f".export-{batch_id}.{fmt}.part").unlink(missing_ok=True)
        db.session.execute(update(ExportBatch).where(ExportBatch.id == batch_id)
                           .values(file_path=None))
    db.session.commit()
    return expired


def housekeeping() -> int:
    """The scheduled job: fail lost exports, delete expired files. Safe on every worker."""
    lost = mark_lost()
    db.session.commit()
    return len(lost) + len(expire_files())
