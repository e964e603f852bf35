"""HTTP API over the same core the CLI and dashboard use: `lab serve` or `uvicorn lab.api:app`.

Every endpoint but /health needs an API key (401); deleting runs and promoting models need an admin
key (403); each key has a rate limit (429 with Retry-After). Bodies over LAB_MAX_UPLOAD_MB are cut
off while they stream in (413). Model work goes through the scheduler (lab.scheduler): one model at a
time, a bounded queue per model (503 with Retry-After when full), a time limit per request.
Errors: 400 bad input, 404 unknown run or model, 409 refused lifecycle transition, each with a
one-line `detail` and never a server file path.

Response schemas come from the store's typed records (lab.store.records), so /docs shows them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Body, FastAPI, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from lab import store
from lab.errors import LabError, NotFoundError, TransitionError
from lab.scheduler import Busy, Scheduler
from lab.serve.security import Admin, Caller
from lab.serve.uploads import BodyLimit, display_name, hide_paths
from lab.settings import settings
from lab.store import mark_interrupted_runs_once
from lab.store.records import RESULT_FIELDS, ApiKeyRecord, RequestStats, RunDetail, RunSummary

log = logging.getLogger(__name__)
MAX_ID = 2**63 - 1  # the database's integer range; larger ids are refused (422), not a 500
RunId = Annotated[int, Path(ge=1, le=MAX_ID)]

app = FastAPI(title="Model Lab", version="0.2.0",
              description="Run speech models side by side, score them, keep every run. "
                          "Every endpoint but /health needs an API key: `lab apikey create NAME`.")
app.router.on_startup.append(mark_interrupted_runs_once)  # runs whose owner process died become interrupted
app.add_middleware(BodyLimit, max_bytes=lambda: int(settings().max_upload_mb * 2**20))

_scheduler: Scheduler | None = None
_scheduler_lock = threading.Lock()


def scheduler() -> Scheduler:
    """The process's one scheduler, sized from the settings when first used."""
    global _scheduler
    with _scheduler_lock:
        if _scheduler is None:
            s = settings()
            _scheduler = Scheduler(s.serve_slots, s.queue_length, s.request_timeout_s)
        return _scheduler


def reset_scheduler() -> None:
    """Build the scheduler again from the current settings (tests)."""
    global _scheduler
    with _scheduler_lock:
        if _scheduler is not None:
            _scheduler.shutdown()
        _scheduler = None


def _bad(e: LabError) -> HTTPException:
    if isinstance(e, Busy):
        return HTTPException(503, str(e), headers={"Retry-After": str(e.retry_after_s)})
    if isinstance(e, TransitionError):
        return HTTPException(409, hide_paths(str(e)))
    if isinstance(e, NotFoundError):
        return HTTPException(404, hide_paths(str(e)))
    return HTTPException(400, hide_paths(str(e)))


@app.exception_handler(LabError)
async def _lab_error(_request: Request, e: LabError) -> JSONResponse:
    http = _bad(e)
    return JSONResponse({"detail": http.detail}, http.status_code, headers=http.headers)


@app.exception_handler(RequestValidationError)
async def _invalid(_request: Request, e: RequestValidationError) -> JSONResponse:
    """422 with one line: where and what (FastAPI's default is a list of objects)."""
    parts = [f"{'.'.join(str(x) for x in err.get('loc', ()))}: {err.get('msg', 'invalid')}" for err in e.errors()]
    return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, 422)


@app.exception_handler(Exception)
async def _internal(_request: Request, e: Exception) -> JSONResponse:
    """A bug: one line, no traceback, no paths (the server's log has the traceback)."""
    return JSONResponse({"detail": f"internal error: {type(e).__name__}"}, 500)


@app.middleware("http")
async def _log_request(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Every request made with a valid key goes to the request log that /stats reads."""
    start = time.perf_counter()
    response = await call_next(request)
    key_id = getattr(request.state, "key_id", None)
    route = request.scope.get("route")
    if key_id is not None and route is not None:
        try:
            await run_in_threadpool(store.log_request, request.method, route.path, response.status_code,
                                    time.perf_counter() - start, key_id, getattr(request.state, "model", None),
                                    getattr(request.state, "queue_s", None))
        except Exception:  # the answer matters more than its log line (e.g. /ready with the database down)
            log.warning("request log not written", exc_info=True)
    return response


# One model's result as `lab transcribe --json` prints it: built from the one result field list.
ResultOut = create_model("ResultOut", **{f.json: (f.type, ...) for f in RESULT_FIELDS if f.json})


class TranscribeOut(BaseModel):
    run_id: int | None
    results: list[ResultOut]  # type: ignore[valid-type]


class RunsPage(BaseModel):
    total: int
    runs: list[RunSummary]


class Deleted(BaseModel):
    deleted: int


class MoveOut(BaseModel):
    """One recorded lifecycle move (`lab.store.Transition`, as `lab promote --json` prints it, without `at`)."""

    model_config = ConfigDict(populate_by_name=True)
    model: str
    from_: str | None = Field(alias="from")
    to: str
    reason: str
    actor: str


@app.get("/health")
def health() -> dict:
    """Liveness only: the process answers. /ready says whether it can do work."""
    return {"ok": True}


class ReadyOut(BaseModel):
    ready: bool
    database: str
    engines: list[str]  # models available here


@app.get("/ready", response_model=ReadyOut, responses={503: {"description": "not ready; `detail` says why"}})
def ready(_key: Caller) -> ReadyOut:
    """Database reachable with its migrations current, and at least one engine available; else 503."""
    from lab.engines import all_availability

    problem = store.schema_problem()
    available = [a.model for a in all_availability() if a.available]
    if problem or not available:
        raise HTTPException(503, problem or "no model can run here; see `lab doctor`.")
    return ReadyOut(ready=True, database="ok", engines=available)


@app.get("/models")
def models(_key: Caller) -> list[dict]:
    from lab.lifecycle import models_overview

    # `path` stays in the JSON, but never says where the server keeps its files
    return [{**m, "path": None, "hint": hide_paths(m["hint"])} for m in models_overview()]


def _served(key: ApiKeyRecord, model_id: str) -> str:
    """Only production and candidate models, unless the key may use experimental ones (403)."""
    from lab.lifecycle import ALIASES, state_of

    state = state_of(model_id)
    if state not in ALIASES and not (key.experimental and state == "experimental"):
        raise HTTPException(403, f"{model_id} is {state}; key '{key.name}' may use "
                                 + ("production, candidate and experimental models." if key.experimental
                                    else "production and candidate models only."))
    return model_id


@app.post("/transcribe", response_model=TranscribeOut)
def transcribe(key: Caller, file: Annotated[UploadFile, File()], models: Annotated[list[str], Form()],
               reference: Annotated[str | None, Form()] = None, beam_size: Annotated[int, Form()] = 5,
               compute_type: Annotated[str | None, Form()] = None,
               reference_language: Annotated[str | None, Form()] = None) -> dict:
    """Same contract as `lab transcribe --json`: run_id and one result per model, like for like (one compute
    type and beam for all, unless a model is named as a variant: `faster-whisper:tiny.en@int8,beam=1`)."""
    from lab.audio import load_audio
    from lab.engines.base import AsrOptions
    from lab.plan import plan_comparison
    from lab.runner import compare

    try:
        options = AsrOptions(beam_size=beam_size)  # refused (400) before any audio is decoded
        for planned in plan_comparison(models, compute_type or None, beam_size):  # unknown or bad variants: 400
            _served(key, planned.model)
        clip = load_audio(file.file.read(), name=display_name(file.filename))
    except LabError as e:
        raise _bad(e) from None
    done = scheduler().run(",".join(dict.fromkeys(models)), lambda _q: compare(
        clip, models, reference or None, options=options, compute_type=compute_type or None,
        reference_language=reference_language or None, uploader=key.name))
    comp = done.value
    return {"run_id": comp.run_id, "results": [r.to_json() for r in comp.results]}


@app.post("/asr/transcribe", response_model=TranscribeOut,
          responses={503: {"description": "the model's queue is full or the time limit passed (Retry-After)"}})
def asr_transcribe(request: Request, key: Caller, file: Annotated[UploadFile, File(description="The recording.")],
                   model: Annotated[str, Form(description="A model id, or `production` / `candidate`.")],
                   reference: Annotated[str | None, Form(max_length=20_000)] = None,
                   language: Annotated[str | None, Form(max_length=16, description="e.g. en; default: detect.")]
                   = None) -> dict:
    """One recording through one model (or the registry's production/candidate model for the task and
    language), stored as a run; the same fields as `lab transcribe --json`."""
    from lab.audio import load_audio
    from lab.engines.base import AsrOptions
    from lab.lifecycle import resolve_model
    from lab.runner import Comparison

    model_id = _served(key, resolve_model(model, "asr", language))
    request.state.model = model_id
    clip = load_audio(file.file.read(), name=display_name(file.filename))
    options = AsrOptions(language=language or None)

    def job(queue_s: float) -> Comparison:
        comp = Comparison(clip, [model_id], reference or None, options=options, kind="api", uploader=key.name)
        try:
            comp.run_model(model_id, queue_s=queue_s)
        finally:
            comp.finish()
        return comp

    done = scheduler().run(model_id, job)
    request.state.queue_s = done.queue_s
    return {"run_id": done.value.run_id, "results": [r.to_json() for r in done.value.results]}


class SynthesizeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=1000)
    model: str = Field("production", description="A TTS model id, or `production` / `candidate`.")
    voice: str | None = Field(None, max_length=100, description="Default: the model's first voice.")
    language: str | None = Field(None, max_length=16, description="For resolving an alias; default en.")


@app.post("/tts/synthesize", response_class=Response,
          responses={200: {"content": {"audio/wav": {}}, "description": "WAV audio; run id and timings in "
                           "X-Run-Id, X-Model, X-Voice, X-Latency-S, X-Load-S, X-Queue-S"},
                     502: {"description": "the model failed (stored as a failed run)"},
                     503: {"description": "the model's queue is full or the time limit passed (Retry-After)"}})
def tts_synthesize(request: Request, key: Caller, body: SynthesizeIn) -> Response:
    """Speak `text` with a TTS model; the run is stored like `lab synthesize`."""
    from lab.lifecycle import resolve_model
    from lab.tts import check_text, check_voice, synthesize_run

    model_id = _served(key, resolve_model(body.model, "tts", body.language))
    request.state.model = model_id
    text = check_text(body.text)
    check_voice(model_id, body.voice)
    done = scheduler().run(model_id, lambda q: list(synthesize_run(text, [model_id], body.voice, queue_s=q)))
    request.state.queue_s = done.queue_s
    ((run_id, r),) = done.value
    if r.error:
        raise HTTPException(502, hide_paths(r.error))
    headers = {"X-Run-Id": str(run_id), "X-Model": model_id, "X-Voice": r.voice or "",
               "X-Latency-S": f"{r.latency_s:.4f}", "X-Load-S": f"{r.load_s or 0:.4f}",
               "X-Queue-S": f"{done.queue_s:.4f}"}
    return Response(r.wav_bytes(), media_type="audio/wav", headers=headers)


class StatsOut(BaseModel):
    window_s: float
    total: RequestStats
    by_model: list[RequestStats]
    by_key: list[RequestStats]  # group: the key's name


@app.get("/stats", response_model=StatsOut)
def stats(_key: Caller, window_s: Annotated[float, Query(gt=0, le=366 * 86400)] = 3600) -> StatsOut:
    """Requests, errors (4xx/5xx), latency p50/p95 and mean queue wait per model and per key, from the
    request log, over the last `window_s` seconds."""
    groups = store.request_stats(window_s)
    return StatsOut(window_s=window_s, total=groups["total"][0], by_model=groups["by_model"], by_key=groups["by_key"])


@app.get("/runs", response_model=RunsPage)
def runs(_key: Caller, limit: Annotated[int, Query(ge=1, le=500)] = 20,
         offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
         model: str | None = None, kind: str | None = None, clip: str | None = None) -> RunsPage:
    from lab.store import RunFilter, count_runs, list_runs

    f = RunFilter(model=model, kind=kind, clip=clip)
    return RunsPage(total=count_runs(f), runs=list_runs(limit, offset, f))


@app.get("/runs/{run_id}", response_model=RunDetail)
def run(_key: Caller, run_id: RunId) -> RunDetail:
    from lab.store import get_run

    try:
        return get_run(run_id)
    except LabError as e:
        raise _bad(e) from None


@app.delete("/runs/{run_id}", response_model=Deleted)
def delete(_key: Admin, run_id: RunId) -> dict:
    from lab.store import delete_run

    try:
        delete_run(run_id)
    except LabError as e:
        raise _bad(e) from None
    return {"deleted": run_id}


@app.get("/runs/{run_id}/report", response_class=HTMLResponse)
def report(_key: Caller, run_id: RunId) -> str:
    from lab.serve.report import run_report_html

    try:
        return run_report_html(run_id)
    except LabError as e:
        raise _bad(e) from None


class Promotion(BaseModel):
    to: str
    reason: str
    actor: str | None = None


@app.post("/models/{model_id}/promote", response_model=list[MoveOut])
def promote(key: Admin, model_id: str, body: Annotated[Promotion, Body()]) -> list[dict]:
    from lab.lifecycle import transition

    try:
        moved = transition(model_id, body.to, body.reason, body.actor or f"api:{key.name}")
    except LabError as e:
        raise _bad(e) from None
    return [t.to_json() for t in moved]
