"""Tables. Schema changes go through Alembic migrations (db/migrations), applied automatically."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class ModelRecord(SQLModel, table=True):
    __tablename__ = "models"

    id: str = Field(primary_key=True)
    state: str = Field(index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class Transition(SQLModel, table=True):
    """Append-only lifecycle history: who moved which model from what to what, why, on what evidence."""

    __tablename__ = "transitions"

    id: int | None = Field(default=None, primary_key=True)
    model_id: str = Field(foreign_key="models.id", index=True)
    from_state: str | None = None
    to_state: str
    reason: str
    actor: str
    at: datetime = Field(default_factory=utcnow, index=True)
    metrics: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Clip(SQLModel, table=True):
    __tablename__ = "clips"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(unique=True, index=True)
    name: str
    duration_s: float
    peak: float | None = None
    rms_dbfs: float | None = None
    clipped_fraction: float | None = None
    original_channels: int | None = None
    original_rate: int | None = None
    container: str | None = None
    path: str | None = None  # relative to the clips directory
    created_at: datetime = Field(default_factory=utcnow)


class ClipUpload(SQLModel, table=True):
    """Who brought a clip in, under what file name (migration 0006); the audio is stored once per sha256."""

    __tablename__ = "clip_uploads"
    __table_args__ = (UniqueConstraint("clip_id", "uploader", "file_name", name="uq_clip_uploads_clip_uploader_file"),)

    id: int | None = Field(default=None, primary_key=True)
    clip_id: int = Field(sa_column=Column(Integer, ForeignKey("clips.id", ondelete="CASCADE"), index=True,
                                          nullable=False))
    uploader: str  # display name: --user/LAB_USER (the OS user by default), later the API key's name
    file_name: str
    uploaded_at: datetime = Field(default_factory=utcnow)


class Run(SQLModel, table=True):
    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)  # compare, eval, stability, tts, ...
    created_at: datetime = Field(default_factory=utcnow, index=True)
    status: str = "running"  # running, done, partial (some models failed), failed
    clip_id: int | None = Field(default=None, foreign_key="clips.id", index=True)
    reference: str | None = None
    settings: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    machine: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str | None = None
    # aggregate figures of the run (eval: per-model corpus WER with CI, ...), added in migration 0002
    summary: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # who runs it and when it last showed life (migration 0004): a run whose owner is gone is interrupted
    owner_host: str | None = None
    owner_pid: int | None = None
    heartbeat_at: datetime | None = None


class Result(SQLModel, table=True):
    __tablename__ = "results"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=Column(Integer, ForeignKey("runs.id", ondelete="CASCADE"), index=True,
                                         nullable=False))
    model_id: str = Field(index=True)
    clip_id: int | None = Field(default=None, foreign_key="clips.id")
    text: str | None = None
    language: str | None = None
    wer: float | None = None
    cer: float | None = None
    raw_wer: float | None = None
    raw_cer: float | None = None
    latency_s: float | None = None
    rtfx: float | None = None
    load_s: float | None = None
    warmup_s: float | None = None
    cached: bool | None = None
    device: str | None = None
    compute_type: str | None = None
    # the settings and scoring each result ran with (migration 0004)
    beam_size: int | None = None
    threads: int | None = None
    language_probability: float | None = None
    score_language: str | None = None  # the language the result was scored in
    headline_metric: str | None = None  # "wer" or "cer", by that language
    queue_s: float | None = None  # time waiting for the model, apart from latency_s
    error: str | None = None
    flags: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    label: str | None = None  # the variant it ran as, e.g. `model@int8,beam=1` (migration 0007)
    segments: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    words: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    extra: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Baseline(SQLModel, table=True):
    """A model's reference metrics on a dataset; regressions are judged against the latest one."""

    __tablename__ = "baselines"

    id: int | None = Field(default=None, primary_key=True)
    model_id: str = Field(index=True)
    dataset: str = Field(index=True)  # the manifest's resolved path
    dataset_sha256: str
    run_id: int | None = Field(default=None, foreign_key="runs.id")
    wer: float | None = None
    cer: float | None = None
    latency_p95_s: float | None = None
    rtfx: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class RegressionReport(SQLModel, table=True):
    __tablename__ = "regression_reports"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    passed: bool
    config: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    report: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    models: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Vote(SQLModel, table=True):
    """One blind A/B judgement. Models are stored, but the judge saw only 'A' and 'B'."""

    __tablename__ = "votes"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    task: str = Field(index=True)  # tts or asr
    model_a: str = Field(index=True)
    model_b: str = Field(index=True)
    winner: str  # a, b, tie, both_bad
    prompt: str | None = None  # the text spoken (tts) or the clip judged (asr)
    run_id: int | None = Field(default=None, foreign_key="runs.id")
    voter: str | None = None


class ApiKey(SQLModel, table=True):
    """An HTTP API key (migration 0005): only its sha256 is stored; the key is shown once, at creation."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    prefix: str  # the key's first characters, so a listed key can be recognised
    key_hash: str = Field(unique=True, index=True)
    admin: bool = False  # may delete runs and promote models
    experimental: bool = False  # may use experimental models
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class RequestLog(SQLModel, table=True):
    """One served HTTP request (migration 0005), for /stats."""

    __tablename__ = "request_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    key_id: int | None = None
    method: str
    endpoint: str  # the route template, e.g. /runs/{run_id}
    model_id: str | None = None
    status: int
    latency_s: float  # the whole request, queue wait included
    queue_s: float | None = None
