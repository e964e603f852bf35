"""Clips, runs and results: storing them as they happen, listing, reading and deleting them."""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select, update

from db.models import Baseline, Clip, ClipUpload, Result, Run, Vote
from lab.audio import AudioClip
from lab.errors import NotFoundError
from lab.settings import settings
from lab.store import liveness
from lab.store._db import aware, retried, session
from lab.store.records import RESULT_COLUMNS, ClipUploadRecord, ResultRecord, RunDetail, RunSummary


def clips_dir() -> Path:
    return settings().clips_path


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def save_clip(clip: AudioClip, uploader: str | None = None) -> int:
    """Store the clip once (by sha256: the same audio from two people is one file and one row) and record
    who uploaded it under what name (`uploader`: default the `user` setting, LAB_USER / --user)."""
    clip_id = _clip_row(clip)
    _record_upload(clip_id, uploader or settings().user, clip.name)
    return clip_id


@retried
def _clip_row(clip: AudioClip) -> int:
    with session() as s:
        found = s.exec(select(Clip).where(Clip.sha256 == clip.sha256)).first()
        if found:
            return found.id
        path = _write_audio(clip)  # content-addressed: a writer racing us writes the same bytes
        st = clip.stats
        row = Clip(
            sha256=clip.sha256, name=clip.name, duration_s=clip.duration_s, peak=_finite(st.peak),
            rms_dbfs=_finite(st.rms_dbfs), clipped_fraction=st.clipped_fraction,
            original_channels=clip.original_channels, original_rate=clip.original_rate,
            container=clip.container, path=path,
        )
        s.add(row)
        try:
            s.commit()
        except IntegrityError:  # another process stored the same audio first: theirs is ours
            s.rollback()
            return s.exec(select(Clip).where(Clip.sha256 == clip.sha256)).one().id
        return row.id


@retried
def _record_upload(clip_id: int, uploader: str, file_name: str) -> None:
    with session() as s:
        same = (ClipUpload.clip_id == clip_id, ClipUpload.uploader == uploader, ClipUpload.file_name == file_name)
        if s.exec(select(ClipUpload.id).where(*same)).first() is not None:
            return
        s.add(ClipUpload(clip_id=clip_id, uploader=uploader, file_name=file_name))
        try:
            s.commit()
        except IntegrityError:  # the same person uploading the same file twice at once: once is enough
            s.rollback()


def clip_uploads(clip_id: int) -> list[ClipUploadRecord]:
    """Everyone who uploaded this clip, first upload first."""
    with session() as s:
        rows = s.exec(select(ClipUpload).where(ClipUpload.clip_id == clip_id).order_by(col(ClipUpload.id))).all()
        clip = s.get(Clip, clip_id)
    return [ClipUploadRecord(clip_id=r.clip_id, uploader=r.uploader, file_name=r.file_name,
                             uploaded_at=aware(r.uploaded_at), sha256=clip.sha256, path=clip.path) for r in rows]


def _write_audio(clip: AudioClip) -> str | None:
    if not clip.data:
        return None
    # the file is named by content; the uploader's name is only display text, so its suffix is used
    # only when it is a plausible extension (a long or odd one gave "File name too long")
    suffix = Path(clip.name).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        suffix = f".{re.sub(r'[^a-z0-9]', '', (clip.container or 'bin').lower())[:8] or 'bin'}"
    name = f"{clip.sha256}{suffix}"
    target = clips_dir() / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # a temp name of this writer's own: two people uploading the same audio at once each write theirs,
        # and the rename is atomic, so the file is whole whichever lands last
        tmp = target.with_name(f".{name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(clip.data)
        tmp.replace(target)
    return name


def clip_audio_path(clip_id: int) -> Path | None:
    with session() as s:
        row = s.get(Clip, clip_id)
    if row is None or not row.path:
        return None
    path = clips_dir() / row.path
    return path if path.exists() else None


@retried
def start_run(kind: str, settings: dict, machine: dict | None = None, clip_id: int | None = None,
              reference: str | None = None, note: str | None = None) -> int:
    """Create the run row before any work, so nothing done afterwards can be lost.

    `machine` defaults to this machine's fingerprint (hardware, library versions, threads)."""
    if machine is None:
        from lab.loading import default_threads  # imports the engine registry: only when needed
        from lab.machine import fingerprint

        machine = fingerprint(default_threads())
    host, pid = liveness.owner()
    with session() as s:
        run = Run(kind=kind, settings=settings, machine=machine, clip_id=clip_id, reference=reference, note=note,
                  owner_host=host, owner_pid=pid, heartbeat_at=liveness.now())
        s.add(run)
        s.commit()
    liveness.track(run.id)
    return run.id


@retried
def add_result(run_id: int, fields: dict[str, Any]) -> int:
    """Append one model's result as soon as it exists, so a crash later loses nothing.

    `fields`: result columns (`RESULT_COLUMNS`, e.g. `ModelResult.row()`) and optionally `clip_id`."""
    unknown = set(fields) - set(RESULT_COLUMNS) - {"clip_id"}
    if unknown:
        raise ValueError(f"not result fields: {sorted(unknown)}")
    with session() as s:
        row = Result(run_id=run_id, **fields)
        s.add(row)
        s.exec(update(Run).where(Run.id == run_id, Run.status == "running").values(heartbeat_at=liveness.now()))
        s.commit()
        return row.id


@retried
def finish_run(run_id: int, status: str, summary: dict | None = None) -> None:
    liveness.untrack(run_id)
    with session() as s:
        run = s.get(Run, run_id)
        if run is not None:
            run.status = status
            if summary is not None:
                run.summary = summary
            s.add(run)
            s.commit()


@dataclass(frozen=True)
class RunFilter:
    model: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    clip: str | None = None  # substring of the clip name


def filtered(q, f: RunFilter):  # noqa: ANN001, ANN202 - SQLAlchemy select types
    """Apply a RunFilter to a select over runs (shared by listing, counting, charts and export)."""
    if f.kind:
        q = q.where(Run.kind == f.kind)
    if f.since:
        q = q.where(Run.created_at >= f.since)
    if f.until:
        q = q.where(Run.created_at <= f.until)
    if f.model:
        q = q.where(col(Run.id).in_(select(Result.run_id).where(Result.model_id == f.model)))
    if f.clip:
        q = q.where(col(Run.clip_id).in_(select(Clip.id).where(col(Clip.name).contains(f.clip))))
    return q


def count_runs(f: RunFilter | None = None) -> int:
    with session() as s:
        return s.exec(filtered(select(func.count()).select_from(Run), f or RunFilter())).one()


def list_runs(limit: int = 20, offset: int = 0, f: RunFilter | None = None) -> list[RunSummary]:
    """Newest first, one summary per run (models, clip, best WER, status)."""
    with session() as s:
        q = filtered(select(Run), f or RunFilter())
        runs = s.exec(q.order_by(col(Run.created_at).desc(), col(Run.id).desc()).offset(offset).limit(limit)).all()
        ids = [r.id for r in runs]
        results = s.exec(select(Result).where(col(Result.run_id).in_(ids))).all() if ids else []
        clip_ids = {r.clip_id for r in runs if r.clip_id}
        clips = {c.id: c for c in s.exec(select(Clip).where(col(Clip.id).in_(clip_ids))).all()} if clip_ids else {}
    by_run: dict[int, list[Result]] = {}
    for r in results:
        by_run.setdefault(r.run_id, []).append(r)
    return [RunSummary(**_summary(run, by_run.get(run.id, []), clips.get(run.clip_id))) for run in runs]


def _summary(run: Run, results: list[Result], clip: Clip | None) -> dict[str, Any]:
    models = sorted({r.model_id for r in results})
    wers = [r.wer for r in results if r.wer is not None]
    return {
        "run_id": run.id,
        "kind": run.kind,
        "created_at": run.created_at.isoformat(timespec="seconds"),
        "status": run.status,
        "clip": clip.name if clip else None,
        "duration_s": clip.duration_s if clip else None,
        "models": models,
        "best_wer": min(wers) if wers else None,
        "errors": sum(1 for r in results if r.error),
    }


def result_record(row: Result) -> ResultRecord:
    return ResultRecord(**row.model_dump())


def get_run(run_id: int) -> RunDetail:
    """The run with its results and clip names; NotFoundError when there is no such run."""
    with session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise NotFoundError(f"no run with id {run_id}.")
        results = s.exec(select(Result).where(Result.run_id == run_id).order_by(col(Result.id))).all()
        clip = s.get(Clip, run.clip_id) if run.clip_id else None
        ids = {r.clip_id for r in results if r.clip_id}
        names = {c.id: c.name for c in s.exec(select(Clip).where(col(Clip.id).in_(ids))).all()} if ids else {}
    return RunDetail(**_summary(run, list(results), clip), clip_names=names, settings=run.settings,
                     machine=run.machine, reference=run.reference, note=run.note, summary=run.summary,
                     clip_id=run.clip_id, results=[result_record(r) for r in results])


def delete_run(run_id: int) -> None:
    with session() as s:
        if s.get(Run, run_id) is None:
            raise NotFoundError(f"no run with id {run_id}.")
        # baselines and votes outlive the run they came from: keep them, drop the link
        for table in (Baseline, Vote):
            s.exec(update(table).where(table.run_id == run_id).values(run_id=None))
        s.exec(delete(Result).where(Result.run_id == run_id))
        s.exec(delete(Run).where(Run.id == run_id))
        s.commit()
