"""Typed records the store takes and returns, and the one field list of a model's result.

Records are plain dataclasses whose field names are the JSON keys the CLI and API have always
printed, so `to_json()` (an `asdict`) is the contract; the API builds its response schemas from them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import PlainSerializer

# A stored time as JSON: `datetime.isoformat()` ('+00:00', as the API has always written it; pydantic would write 'Z')
IsoDatetime = Annotated[datetime, PlainSerializer(lambda t: t.isoformat(), return_type=str, when_used="json")]


@dataclass(frozen=True)
class ResultField:
    """One field of a model's result: its column in the results table (and in the History export),
    its key in the CLI/API result JSON (None: not in it), and whether the export carries it."""

    column: str
    type: Any
    json: str | None
    export: bool = False


# The one list: the results table's row, the CLI/API result JSON and the export columns derive from it.
RESULT_FIELDS: tuple[ResultField, ...] = (
    ResultField("model_id", str, "model", export=True),
    ResultField("text", str | None, "text", export=True),
    ResultField("wer", float | None, "wer", export=True),
    ResultField("cer", float | None, "cer", export=True),
    ResultField("latency_s", float | None, "latency_s", export=True),
    ResultField("rtfx", float | None, "rtfx", export=True),
    ResultField("load_s", float | None, "load_s", export=True),
    ResultField("error", str | None, "error", export=True),
    ResultField("cached", bool | None, "cached", export=True),
    ResultField("warmup_s", float | None, "warmup_s", export=True),
    ResultField("language", str | None, "language", export=True),
    ResultField("device", str | None, "device", export=True),
    ResultField("compute_type", str | None, "compute_type", export=True),
    ResultField("beam_size", int | None, "beam_size", export=True),
    ResultField("threads", int | None, "threads", export=True),
    ResultField("language_probability", float | None, "language_probability", export=True),
    ResultField("score_language", str | None, "score_language", export=True),
    ResultField("headline_metric", str | None, "headline_metric", export=True),
    ResultField("queue_s", float | None, "queue_s", export=True),
    ResultField("flags", list[str], "flags"),
    # the variant as planned (`model@int8,beam=1`); the model id when nothing was pinned
    ResultField("label", str | None, "label", export=True),
    ResultField("raw_wer", float | None, None),
    ResultField("raw_cer", float | None, None),
    ResultField("segments", list[dict], None),
    ResultField("words", list[dict], None),
    ResultField("extra", dict, None),
)
RESULT_COLUMNS: tuple[str, ...] = tuple(f.column for f in RESULT_FIELDS)
RESULT_JSON_KEYS: tuple[str, ...] = tuple(f.json for f in RESULT_FIELDS if f.json)
RUN_EXPORT_COLUMNS: tuple[str, ...] = ("run_id", "created_at", "kind", "status", "clip", "duration_s", "reference")
RESULT_EXPORT_COLUMNS: tuple[str, ...] = tuple(f.column for f in RESULT_FIELDS if f.export)
# per row: the language of the clip's reference (the manifest's, for evaluations) and the run's settings
ROW_EXPORT_COLUMNS: tuple[str, ...] = ("reference_language", "settings")
EXPORT_COLUMNS: tuple[str, ...] = RUN_EXPORT_COLUMNS + RESULT_EXPORT_COLUMNS + ROW_EXPORT_COLUMNS


class _Json:
    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True, kw_only=True)
class ResultRecord(_Json):
    """One stored model result (a row of the results table, in its column order)."""

    id: int | None = None
    run_id: int | None = None
    model_id: str
    clip_id: int | None = None
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
    beam_size: int | None = None
    threads: int | None = None
    language_probability: float | None = None
    score_language: str | None = None
    headline_metric: str | None = None
    queue_s: float | None = None
    error: str | None = None
    flags: list[str] = field(default_factory=list)
    label: str | None = None
    segments: list[dict] = field(default_factory=list)
    words: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    created_at: IsoDatetime | None = None

    def row(self) -> dict[str, Any]:
        """The stored result fields (`RESULT_COLUMNS`), like `ModelResult.row()` gives for a live result."""
        return {c: getattr(self, c) for c in RESULT_COLUMNS}


@dataclass(frozen=True)
class RunSummary(_Json):
    """One run in a listing (`lab history --json`, `GET /runs`)."""

    run_id: int
    kind: str
    created_at: str  # ISO 8601, seconds, UTC
    status: str
    clip: str | None
    duration_s: float | None
    models: list[str]
    best_wer: float | None
    errors: int


@dataclass(frozen=True)
class RunDetail(RunSummary):
    """One run with everything stored about it (`GET /runs/{id}`, History, reports)."""

    clip_names: dict[int, str] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    machine: dict = field(default_factory=dict)
    reference: str | None = None
    note: str | None = None
    summary: dict | None = None
    clip_id: int | None = None
    results: list[ResultRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["results"] = [r.to_json() for r in self.results]
        return d


@dataclass(frozen=True)
class EvalFigure(_Json):
    """One model's corpus figures from a stored dataset evaluation (the run's summary, not a single clip)."""

    model_id: str
    run_id: int
    kind: str  # eval, baseline, regress or parity
    dataset: str  # the manifest's resolved path
    created_at: IsoDatetime | None
    wer: float | None
    wer_ci: tuple[float, float] | None
    cer: float | None
    clips: int  # clips scored
    errors: int

    @property
    def dataset_name(self) -> str:
        """The manifest's folder and name ('samples/manifest.csv'): enough to tell datasets apart."""
        return "/".join(self.dataset.replace("\\", "/").rstrip("/").split("/")[-2:]) or self.dataset

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["wer_ci"] = list(self.wer_ci) if self.wer_ci else None
        d["created_at"] = self.created_at.isoformat(timespec="seconds") if self.created_at else None
        d["dataset_name"] = self.dataset_name
        return d


def eval_figures(run_id: int, kind: str, created_at: datetime | None, settings: dict | None,
                 summary: dict | None) -> list[EvalFigure]:
    """An evaluation run's stored summary → one corpus figure per model ([] when it has no summary)."""
    dataset = str((settings or {}).get("dataset") or (summary or {}).get("dataset") or "?")
    out = []
    for m in (summary or {}).get("models") or []:
        if not isinstance(m, dict) or not m.get("model"):
            continue
        ci = m.get("wer_ci")
        out.append(EvalFigure(model_id=m["model"], run_id=run_id, kind=kind, dataset=dataset, created_at=created_at,
                              wer=m.get("wer"), wer_ci=(ci[0], ci[1]) if ci and None not in ci else None,
                              cer=m.get("cer"), clips=int(m.get("clips") or 0), errors=int(m.get("errors") or 0)))
    return out


@dataclass(frozen=True)
class Transition(_Json):
    """One lifecycle move in the append-only audit trail."""

    model_id: str
    from_state: str | None
    to_state: str
    reason: str
    actor: str
    metrics: dict = field(default_factory=dict)
    at: datetime | None = None
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """What `lab promote --json` prints per move (the API leaves out `at`)."""
        return {"model": self.model_id, "from": self.from_state, "to": self.to_state, "reason": self.reason,
                "actor": self.actor, "at": self.at.isoformat(timespec="seconds") if self.at else None}


@dataclass(frozen=True)
class Baseline(_Json):
    """A model's reference figures on a dataset (the manifest's resolved path)."""

    model_id: str
    dataset: str
    dataset_sha256: str
    run_id: int | None = None
    wer: float | None = None
    cer: float | None = None
    latency_p95_s: float | None = None
    rtfx: float | None = None
    id: int | None = None
    created_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """What `lab baseline set --json` prints."""
        return {"baseline_id": self.id, "model": self.model_id, "dataset": self.dataset, "wer": self.wer,
                "cer": self.cer, "latency_p95_s": self.latency_p95_s, "rtfx": self.rtfx, "run_id": self.run_id}


@dataclass(frozen=True)
class RegressionCheck(_Json):
    """One threshold check of a regression report."""

    model: str
    dataset: str
    check: str
    value: float | None
    limit: float
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class RegressionReport:
    """A `lab regress` outcome; `to_json()` is the report file and the `--json` output."""

    passed: bool
    checks: list[RegressionCheck]
    runs: list[int | None]
    models: list[str]
    datasets: list[str]
    thresholds: dict[str, float]
    report_id: int | None = None
    created_at: datetime | None = None

    def body(self) -> dict[str, Any]:
        """What is stored as the report (everything but its id and time)."""
        return {"passed": self.passed, "checks": [asdict(c) for c in self.checks], "runs": self.runs,
                "models": self.models, "datasets": self.datasets, "thresholds": self.thresholds}

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "report_id": self.report_id,
                "created_at": self.created_at.isoformat(timespec="seconds") if self.created_at else None}


@dataclass(frozen=True)
class Vote(_Json):
    """One blind A/B judgement."""

    task: str
    model_a: str
    model_b: str
    winner: str
    prompt: str | None = None
    run_id: int | None = None
    voter: str | None = None
    id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ClipUploadRecord(_Json):
    """One person's upload of a stored clip: the audio is kept once (`path` under the clips folder, by sha256)."""

    clip_id: int
    uploader: str
    file_name: str
    uploaded_at: IsoDatetime
    sha256: str
    path: str | None


@dataclass(frozen=True)
class DbCounts:
    runs: int
    results: int
    clips: int


@dataclass(frozen=True, kw_only=True)
class ApiKeyRecord(_Json):
    """A stored API key, never the key itself: its name, first characters and rights."""

    id: int
    name: str
    prefix: str
    admin: bool
    experimental: bool
    created_at: IsoDatetime
    revoked_at: IsoDatetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, kw_only=True)
class RequestStats(_Json):
    """Served requests of one group (a model, a key, or all) over a window."""

    group: str | None
    requests: int
    errors: int  # 4xx and 5xx answers
    p50_s: float | None
    p95_s: float | None
    mean_queue_s: float | None
