"""HTTP API over the same core the CLI and dashboard use: `lab serve` or `uvicorn lab.api:app`.

Errors: 400 bad input (bad audio, unknown model, empty text), 404 unknown run, 409 refused
lifecycle transition (the rule's message in `detail`).

Response schemas come from the store's typed records (lab.store.records), so /docs shows them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from lab.errors import LabError, NotFoundError, TransitionError
from lab.store.records import RESULT_FIELDS, RunDetail, RunSummary

app = FastAPI(title="Model Lab", version="0.1.0",
              description="Run speech models side by side, score them, keep every run.")


def _bad(e: LabError) -> HTTPException:
    if isinstance(e, TransitionError):
        return HTTPException(409, str(e))
    if isinstance(e, NotFoundError):
        return HTTPException(404, str(e))
    return HTTPException(400, str(e))


# One model's result as `lab transcribe --json` prints it: built from the one result field list.
# `label` names the variant (`model@int8,beam=1`; the model id when nothing was pinned).
ResultOut = create_model("ResultOut", **{f.json: (f.type, ...) for f in RESULT_FIELDS if f.json},
                         label=(str | None, None))


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
    return {"ok": True}


@app.get("/models")
def models() -> list[dict]:
    from lab.lifecycle import models_overview

    return models_overview()


@app.post("/transcribe", response_model=TranscribeOut)
def transcribe(file: Annotated[UploadFile, File()], models: Annotated[list[str], Form()],
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
        plan_comparison(models, compute_type or None, beam_size)  # unknown models and bad variants: 400
        clip = load_audio(file.file.read(), name=file.filename or "upload")
    except LabError as e:
        raise _bad(e) from None
    comp = compare(clip, models, reference or None, options=AsrOptions(beam_size=beam_size),
                   compute_type=compute_type or None, reference_language=reference_language or None)
    return {"run_id": comp.run_id, "results": [r.to_json() for r in comp.results]}


@app.get("/runs", response_model=RunsPage)
def runs(limit: Annotated[int, Query(ge=1, le=500)] = 20, offset: Annotated[int, Query(ge=0)] = 0,
         model: str | None = None, kind: str | None = None, clip: str | None = None) -> RunsPage:
    from lab.store import RunFilter, count_runs, list_runs

    f = RunFilter(model=model, kind=kind, clip=clip)
    return RunsPage(total=count_runs(f), runs=list_runs(limit, offset, f))


@app.get("/runs/{run_id}", response_model=RunDetail)
def run(run_id: int) -> RunDetail:
    from lab.store import get_run

    try:
        return get_run(run_id)
    except LabError as e:
        raise _bad(e) from None


@app.delete("/runs/{run_id}", response_model=Deleted)
def delete(run_id: int) -> dict:
    from lab.store import delete_run

    try:
        delete_run(run_id)
    except LabError as e:
        raise _bad(e) from None
    return {"deleted": run_id}


@app.get("/runs/{run_id}/report", response_class=HTMLResponse)
def report(run_id: int) -> str:
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
def promote(model_id: str, body: Promotion) -> list[dict]:
    from lab.lifecycle import transition

    try:
        moved = transition(model_id, body.to, body.reason, body.actor)
    except LabError as e:
        raise _bad(e) from None
    return [t.to_json() for t in moved]
