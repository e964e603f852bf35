"""The `lab` command line. Exit codes: 0 success, 1 a run where every model failed, 2 bad input/usage.

Errors are one line on stderr, never a traceback (LAB_DEBUG=1 shows one for internal errors).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from typer import Abort, Exit

try:  # recent typer vendors click; older releases use the click package
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException

from lab.errors import LabError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Model Lab: run speech models side by side, score them, keep every run.",
)

ModelOpt = Annotated[list[str], typer.Option("--model", "-m", help="Model id (repeatable), see `lab models`.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


class BadInput(LabError):
    """Usage problems detected by the CLI itself."""


def _echo_json(obj: object) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        typer.echo("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


@app.command()
def models(as_json: JsonOpt = False) -> None:
    """List catalog models: id, runtime, tasks, lifecycle state and whether they can run here."""
    from lab.catalog import catalog
    from lab.engines import availability
    from lab.store import model_states

    states = model_states()
    out = []
    for spec in catalog().values():
        a = availability(spec.id)
        out.append({"id": spec.id, "runtime": spec.runtime, "tasks": list(spec.tasks),
                    "state": states.get(spec.id, spec.default_state), "available": a.available,
                    "source": a.source, "path": a.path, "hint": None if a.available else a.hint})
    if as_json:
        _echo_json(out)
        return
    _table([[m["id"], m["runtime"], ",".join(m["tasks"]), m["state"], "yes" if m["available"] else "no",
             m["source"] or m["hint"] or ""] for m in out],
           ["ID", "RUNTIME", "TASKS", "STATE", "AVAILABLE", "WEIGHTS / HOW TO GET THEM"])


def _reference(ref: str | None, ref_file: Path | None) -> str | None:
    if ref is not None and ref_file is not None:
        raise BadInput("give either --ref or --ref-file, not both.")
    if ref_file is not None:
        if not ref_file.is_file():
            raise BadInput(f"{ref_file}: no such reference file.")
        return ref_file.read_text(encoding="utf-8").strip()
    return ref


def _check_models(model_ids: list[str] | None) -> list[str]:
    from lab.catalog import get_spec

    if not model_ids:
        raise BadInput("name at least one model with -m ID (see `lab models`).")
    for m in model_ids:
        get_spec(m)  # raises UnknownModelError, a LabError → exit 2
    return list(dict.fromkeys(model_ids))


@app.command()
def transcribe(
    file: Annotated[Path, typer.Argument(help="Audio file (wav, flac, mp3, ogg, opus, m4a, webm).")],
    model: ModelOpt = None,
    ref: Annotated[str | None, typer.Option("--ref", help="Reference transcript.")] = None,
    ref_file: Annotated[Path | None, typer.Option("--ref-file", help="File holding the reference.")] = None,
    language: Annotated[str | None, typer.Option(help="Language code; default: detect.")] = None,
    beam_size: Annotated[int, typer.Option(min=1, help="1 = greedy.")] = 5,
    device: Annotated[str | None, typer.Option(help="cpu, cuda or mps; default: detect.")] = None,
    compute_type: Annotated[str | None, typer.Option(help="e.g. int8, float16, float32.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Transcribe FILE with one or more models; stores the run and prints each result."""
    from lab.audio import load_audio
    from lab.engines.base import AsrOptions
    from lab.runner import Comparison

    model_ids = _check_models(model)
    reference = _reference(ref, ref_file)
    clip = load_audio(file)
    options = AsrOptions(language=language, beam_size=beam_size)
    comp = Comparison(clip, model_ids, reference, options, device=device, compute_type=compute_type)
    if not as_json:
        typer.echo(f"{clip.name}: {clip.duration_s:.1f} s, run {comp.run_id}")
    for r in comp:
        if as_json:
            continue
        if r.error:
            typer.echo(f"[{r.model}] ERROR {r.error}")
        else:
            typer.echo(f"[{r.model}] wer={_fmt(r.wer)} cer={_fmt(r.cer)} latency={_fmt(r.latency_s)}s "
                       f"rtfx={_fmt(r.rtfx, '.1f')} load={_fmt(r.load_s)}s\n  {r.text}")
    if as_json:
        _echo_json({"run_id": comp.run_id, "results": [r.to_json() for r in comp.results]})
    if comp.results and all(not r.ok for r in comp.results):
        raise typer.Exit(1)


@app.command()
def history(
    limit: Annotated[int, typer.Option(min=1, help="How many runs.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Stored runs, newest first."""
    from lab.store import list_runs

    runs = list_runs(limit=limit)
    if as_json:
        _echo_json(runs)
        return
    if not runs:
        typer.echo("No runs yet. Try: lab transcribe FILE -m faster-whisper:tiny.en")
        return
    _table([[r["run_id"], r["created_at"], r["kind"], r["status"], r["clip"] or "-", ",".join(r["models"]),
             _fmt(r["best_wer"])] for r in runs], ["RUN", "WHEN (UTC)", "KIND", "STATUS", "CLIP", "MODELS", "BEST WER"])


@app.command()
def doctor() -> None:
    """Python, torch, device, each engine's availability, database location and disk."""
    import platform

    from db.session import clips_dir, db_url
    from lab.engines import all_availability
    from lab.loading import default_threads, detect_device
    from lab.machine import cpu_model, library_versions
    from lab.weights import cache_dir

    typer.echo(f"python    {platform.python_version()} ({sys.executable})")
    versions = library_versions()
    typer.echo("libraries " + ", ".join(f"{k} {v}" for k, v in versions.items() if v))
    typer.echo(f"cpu       {cpu_model()} · threads used: {default_threads()}")
    typer.echo(f"device    {detect_device()}")
    typer.echo(f"database  {db_url()}")
    typer.echo(f"clips     {clips_dir()}")
    typer.echo(f"cache     {cache_dir()}")
    disk = shutil.disk_usage(cache_dir() if cache_dir().exists() else Path.home())
    typer.echo(f"disk      {disk.free / 2**30:.1f} GiB free of {disk.total / 2**30:.1f} GiB")
    typer.echo("engines:")
    for a in all_availability():
        mark = "ok " if a.available else "-- "
        typer.echo(f"  {mark}{a.model:36} {(a.source + ': ' + (a.path or '')) if a.available else a.hint}")


def main() -> None:
    """Console entry point: maps errors to exit codes and one-line messages."""
    try:
        code = app(standalone_mode=False, prog_name="lab")
    except Exit as e:
        sys.exit(e.exit_code)
    except Abort:
        typer.echo("lab: aborted.", err=True)
        sys.exit(1)
    except ClickException as e:  # usage errors: bad option, missing argument
        typer.echo(f"lab: {e.format_message()}", err=True)
        sys.exit(2)
    except LabError as e:
        typer.echo(f"lab: {e}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:
        if os.environ.get("LAB_DEBUG"):
            traceback.print_exc()
        typer.echo(f"lab: internal error: {type(e).__name__}: {e} (set LAB_DEBUG=1 for details)", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
