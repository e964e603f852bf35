"""The `lab` command line. Exit codes: 0 success, 1 a run where every model failed, 2 bad input/usage.

Errors are one line on stderr, never a traceback (LAB_DEBUG=1 shows one for internal errors).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
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
from lab.settings import reload_settings, settings

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Model Lab: run speech models side by side, score them, keep every run.",
)

ModelOpt = Annotated[list[str], typer.Option("--model", "-m", help="Model id (repeatable), see `lab models`.")]
VariantOpt = Annotated[list[str], typer.Option(
    "--model", "-m", help="Model id (repeatable), see `lab models`; MODEL@int8,beam=1 pins a variant's settings.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


class BadInput(LabError):
    """Usage problems detected by the CLI itself."""


# commands that store no runs: `serve` leaves signals to uvicorn and the API marks orphans at startup
_NO_RUNS = {"serve", "doctor"}
TERM_GRACE_S = 5.0  # after SIGTERM, exit within this even if the database is slow to answer


@app.callback()
def _startup(ctx: typer.Context, user: Annotated[str | None, typer.Option(
        "--user", help="Your display name, recorded with the clips you upload (LAB_USER; default: the OS user).",
)] = None) -> None:
    # runs before every command (typer has one callback): who is uploading, then recover runs left `running`
    # by a process that died, then guard this one
    if user is not None:
        if not user.strip():
            raise BadInput("--user needs a name.")
        os.environ["LAB_USER"] = user.strip()  # read by settings, here and in any worker process started later
        reload_settings()
    if ctx.invoked_subcommand in _NO_RUNS:
        return
    _exit_on_sigterm()
    from lab.store import mark_interrupted_runs

    mark_interrupted_runs()


def _exit_on_sigterm() -> None:
    """On SIGTERM mark this process's running runs `interrupted` and exit 143, within seconds.

    A waiting thread, not a Python handler: those only run between bytecodes of the main thread, which
    may sit in one long native model call. Blocking SIGTERM here (before any other thread starts, so
    they inherit the mask) leaves it to that thread."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=_wait_for_sigterm, name="lab-sigterm", daemon=True).start()


def _wait_for_sigterm() -> None:
    signal.sigwait({signal.SIGTERM})
    threading.Timer(TERM_GRACE_S, os._exit, (143,)).start()
    try:
        ids = _interrupt_runs()
        os.write(2, f"lab: terminated; run(s) {', '.join(map(str, ids)) or 'none'} marked interrupted.\n".encode())
    finally:
        os._exit(143)


def _interrupt_runs() -> list[int]:
    from lab.store import interrupt_own_runs

    return interrupt_own_runs()


def _writable(path: Path, what: str = "output file") -> Path:
    """Refuse an output path before any work: its folder must exist, and it must not be a folder itself."""
    if path.is_dir():
        raise BadInput(f"{path}: is a folder; give a file name for the {what}.")
    if not path.parent.is_dir():
        raise BadInput(f"{path}: folder {path.parent} does not exist; create it first.")
    return path


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
    from lab.lifecycle import models_overview

    out = models_overview()
    if as_json:
        _echo_json(out)
        return
    _table([[m["id"], m["runtime"], ",".join(m["tasks"]), m["state"], "yes" if m["available"] else "no",
             f"{m['source']}: {m['path']}" if m["available"] else m["hint"] or ""] for m in out],
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
def stream(
    file: Annotated[Path, typer.Argument(help="Audio file to play as a live stream.")],
    model: ModelOpt = None,
    chunk_ms: Annotated[int, typer.Option("--chunk-ms", help="Audio per chunk fed to the recogniser.")] = 500,
    realtime: Annotated[bool, typer.Option("--realtime", help="Real speed (else a simulated clock).")] = False,
    ref: Annotated[str | None, typer.Option("--ref", help="Reference transcript.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Play FILE as a live stream through each model: latencies, flicker, keeping up, WER vs offline."""
    from lab.audio import load_audio
    from lab.live import StreamComparison

    model_ids = _check_models(model)
    if chunk_ms <= 0:
        raise BadInput("--chunk-ms must be a positive number of milliseconds.")
    clip = load_audio(file)
    comp = StreamComparison(clip, model_ids, ref, chunk_ms / 1000, realtime)
    if not as_json:
        typer.echo(f"{clip.name}: {clip.duration_s:.1f} s as a stream of {chunk_ms} ms chunks, run {comp.run_id}")
    for r in comp:
        if as_json:
            continue
        if r.error:
            typer.echo(f"[{r.model}] ERROR {r.error}")
            continue
        j = r.to_json()
        typer.echo(f"[{r.model}] wer={_fmt(j['wer'])} offline_wer={_fmt(j['offline_wer'])} "
                   f"first_word={_fmt(j['first_word_s'])}s emission p50={_fmt(j['emission_p50_s'])}s "
                   f"p95={_fmt(j['emission_p95_s'])}s revised={j['revised_words']} kept_up={j['kept_up']} "
                   f"rtf={_fmt(j['rtf'], '.2f')}\n  {j['text']}")
    if as_json:
        _echo_json({"run_id": comp.run_id, "results": [r.to_json() for r in comp.results]})
    if comp.results and all(r.error for r in comp.results):
        raise typer.Exit(1)


@app.command()
def vad(
    file: Annotated[Path, typer.Argument(help="Audio file to find speech in.")],
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Voice activity detection side by side: speech segments, speech ratio, agreement between the VADs."""
    from lab.audio import load_audio
    from lab.catalog import get_spec
    from lab.vad import report

    model_ids = _check_models(model)
    not_vad = [m for m in model_ids if "vad" not in get_spec(m).tasks]
    if not_vad:
        raise BadInput(f"not a VAD (task vad): {', '.join(not_vad)}; see `lab models`.")
    clip = load_audio(file)
    out = report(clip, model_ids)
    if as_json:
        _echo_json(out)
    else:
        typer.echo(f"{clip.name}: {clip.duration_s:.1f} s")
        for r in out["results"]:
            if r["error"]:
                typer.echo(f"[{r['model']}] ERROR {r['error']}")
                continue
            spans = " ".join(f"{s['start']:.2f}-{s['end']:.2f}" for s in r["segments"])
            typer.echo(f"[{r['model']}] speech {100 * r['speech_ratio']:.1f}% in {len(r['segments'])} segments "
                       f"({r['latency_s']:.3f} s): {spans}")
        for a in out["agreement"]:
            typer.echo(f"{a['a']} vs {a['b']}: agree on {100 * a['agreement']:.1f}% of 10 ms frames")
    if out["results"] and all(r["error"] for r in out["results"]):
        raise typer.Exit(1)


@app.command()
def transcribe(
    file: Annotated[Path, typer.Argument(help="Audio file (wav, flac, mp3, ogg, opus, m4a, webm).")],
    model: VariantOpt = None,
    ref: Annotated[str | None, typer.Option("--ref", help="Reference transcript.")] = None,
    ref_file: Annotated[Path | None, typer.Option("--ref-file", help="File holding the reference.")] = None,
    language: Annotated[str | None, typer.Option(help="Language code; default: detect.")] = None,
    ref_language: Annotated[str | None, typer.Option(
        help="The reference's language: picks the normaliser and headline metric; default: --language, "
             "else the model's/detected one.")] = None,
    beam_size: Annotated[int, typer.Option(help="1 (greedy) to 10; the same for every model.")] = 5,
    device: Annotated[str | None, typer.Option(help="cpu, cuda or mps; default: detect.")] = None,
    compute_type: Annotated[str | None, typer.Option(
        help="e.g. int8, float16, float32; the same for every model (default: float32 on CPU, float16 on CUDA).")]
    = None,
    as_json: JsonOpt = False,
) -> None:
    """Transcribe FILE with one or more models, like for like; stores the run and prints each result."""
    from lab.audio import load_audio
    from lab.engines.base import AsrOptions
    from lab.flags import explain_flags
    from lab.plan import plan_comparison
    from lab.runner import Comparison

    if not model:
        raise BadInput("name at least one model with -m ID (see `lab models`).")
    plan_comparison(model, compute_type, beam_size, device)  # unknown models and bad variants: exit 2
    reference = _reference(ref, ref_file)
    options = AsrOptions(language=language, beam_size=beam_size)  # bad options are refused before decoding
    clip = load_audio(file)
    comp = Comparison(clip, model, reference, options, device=device, compute_type=compute_type,
                      reference_language=ref_language or language)
    if not as_json:
        typer.echo(f"{clip.name}: {clip.duration_s:.1f} s, run {comp.run_id}")
    for r in comp:
        if as_json:
            continue
        if r.error:
            typer.echo(f"[{r.label}] ERROR {r.error}")
        else:
            typer.echo(f"[{r.label}] wer={_fmt(r.wer)} cer={_fmt(r.cer)} latency={_fmt(r.latency_s)}s "
                       f"rtfx={_fmt(r.rtfx, '.1f')} load={_fmt(r.load_s)}s  {_settings_line(r)}\n  {r.text}")
            for note in explain_flags(r.flags):
                typer.echo(f"  ! {note}")
            if r.wer is None and r.score and r.score.note:  # e.g. a punctuation-only reference: why "-"
                typer.echo(f"  note: {r.score.note}")
    if as_json:
        _echo_json({"run_id": comp.run_id, "results": [r.to_json() for r in comp.results]})
    if comp.results and all(not r.ok for r in comp.results):
        raise typer.Exit(1)


def _settings_line(r: object) -> str:
    """compute type, beam, device, threads and the detected language of one result."""
    prob = getattr(r, "language_probability", None)
    lang = f"{r.language}" + (f" ({prob:.0%})" if prob is not None else "") if r.language else "-"
    return f"[{r.compute_type} beam={r.beam_size} {r.device} threads={r.threads} lang={lang}]"


@app.command()
def history(
    limit: Annotated[int, typer.Option(min=1, help="How many runs.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Stored runs, newest first."""
    from lab.store import list_runs

    runs = list_runs(limit=limit)
    if as_json:
        _echo_json([r.to_json() for r in runs])
        return
    if not runs:
        typer.echo("No runs yet. Try: lab transcribe FILE -m faster-whisper:tiny.en")
        return
    from lab.eval.evaluate import run_wers

    wers = run_wers(runs)
    _table([[r.run_id, r.created_at, r.kind, r.status, r.clip or "-", ",".join(r.models),
             _run_wer(wers[r.run_id])] for r in runs], ["RUN", "WHEN (UTC)", "KIND", "STATUS", "CLIP", "MODELS", "WER"])


def _run_wer(w) -> str:  # noqa: ANN001 - a lab.eval.evaluate.RunWer (imported lazily)
    """An evaluation's corpus WER per model; another run's best single result, marked as such."""
    if w.basis == "corpus":
        return " ".join(f"{f.model_id}={_fmt(f.wer)}" for f in w.corpus) + " (corpus)"
    return "-" if w.best_wer is None else f"{_fmt(w.best_wer)} (best result)"


@app.command()
def doctor() -> None:
    """Python, torch, device, each engine's availability, database location and disk."""
    import platform

    from lab.engines import all_availability
    from lab.loading import default_threads, detect_device
    from lab.machine import cpu_model, library_versions
    from lab.store import clips_dir
    from lab.weights import cache_dir

    typer.echo(f"python    {platform.python_version()} ({sys.executable})")
    versions = library_versions()
    typer.echo("libraries " + ", ".join(f"{k} {v}" for k, v in versions.items() if v))
    typer.echo(f"cpu       {cpu_model()} · threads used: {default_threads()}")
    typer.echo(f"device    {detect_device()}")
    typer.echo(f"database  {settings().db_url}")
    typer.echo(f"clips     {clips_dir()}")
    typer.echo(f"cache     {cache_dir()}")
    disk = shutil.disk_usage(cache_dir() if cache_dir().exists() else Path.home())
    typer.echo(f"disk      {disk.free / 2**30:.1f} GiB free of {disk.total / 2**30:.1f} GiB")
    typer.echo("engines:")
    for a in all_availability():
        mark = "ok " if a.available else "-- "
        detail = f" ({a.hint})" if a.available and a.hint else ""
        typer.echo(f"  {mark}{a.model:36} {(a.source + ': ' + (a.path or '') + detail) if a.available else a.hint}")


def _progress(label: str):  # noqa: ANN202 - returns a progress callback and its context
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.description}"), console=Console(stderr=True), transient=True)
    task = bar.add_task("", total=None)

    def update(done: int, total: int, what: str) -> None:
        bar.update(task, completed=done, total=total, description=what)

    return bar, update


def _print_eval(models: list[dict], paired: list[dict], notes: list[str]) -> None:
    _table([[m["model"], _fmt(m["wer"]), "-" if not m["wer_ci"] else f"[{m['wer_ci'][0]:.3f}, {m['wer_ci'][1]:.3f}]",
             _fmt(m["cer"]), f"{m['substitutions']}/{m['deletions']}/{m['insertions']}", _fmt(m["rtfx"], ".1f"),
             _fmt(m["latency_p50_s"]), _fmt(m["latency_p95_s"]), m["clips"], m["errors"]] for m in models],
           ["MODEL", "WER", "95% CI", "CER", "S/D/I", "RTFX", "P50 S", "P95 S", "CLIPS", "ERRORS"])
    for m in models:
        for group, key in (("language", "by_language"), ("tag", "by_tag")):
            for name, g in (m.get(key) or {}).items():
                ci = f"[{g['ci'][0]:.3f}, {g['ci'][1]:.3f}]" if g.get("ci") else "-"
                typer.echo(f"{m['model']} · {group} {name}: {g['metric'].upper()} {_fmt(g['value'])} "
                           f"95% CI {ci} over {g['clips']} clip(s)")
        if m.get("skipped"):
            typer.echo(f"{m['model']}: skipped {m['skipped']} clip(s) (" + "; ".join(
                f"{n} × {why}" for why, n in m.get("skipped_reasons", {}).items()) + ")")
        if m.get("language_id_accuracy") is not None:
            typer.echo(f"{m['model']}: language-id accuracy {m['language_id_accuracy']:.0%} "
                       f"over {m['language_id_clips']} clip(s)")
    for p in paired:
        typer.echo(f"{p['a']} − {p['b']}: {p['diff'] * 100:+.1f} WER points, 95% CI "
                   f"[{p['ci'][0] * 100:+.1f}, {p['ci'][1] * 100:+.1f}] → {p['verdict']}")
    for n in notes:
        typer.echo(f"note: {n}")


def _executor(ray: str | None, workers: int | None):  # noqa: ANN202 - a ClipExecutor or None
    """--ray [ADDRESS] or --workers N; neither: clips one after another in this process."""
    if ray is not None and workers is not None:
        raise BadInput("give either --ray or --workers, not both.")
    if ray is None and workers is None:
        return None
    from lab.eval import distributed

    if workers is not None:
        return distributed.PoolExecutor(workers)
    if not distributed.ray_available():
        raise BadInput(distributed.RAY_HINT)
    executor = distributed.RayExecutor.from_settings() if ray == "local" else distributed.RayExecutor(ray)
    return executor.connect()


@app.command("eval")
def eval_cmd(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV: file,reference[,language,speakers,tags].")],
    model: ModelOpt = None,
    beam_size: Annotated[int, typer.Option(help="1 (greedy) to 10.")] = 5,
    language: Annotated[str | None, typer.Option(help="Language code for every clip; default: the manifest's.")] = None,
    skip_missing: Annotated[bool, typer.Option(
        "--skip-missing", help="Run the clips that exist when some manifest files are missing.")] = False,
    detect_language: Annotated[bool, typer.Option(
        "--detect-language", help="Let multilingual models detect each clip's language (measures language-id "
        "accuracy) instead of telling them the manifest's.")] = False,
    ray: Annotated[str | None, typer.Option(
        "--ray", metavar="[ADDRESS]",
        help="Spread clips over a Ray cluster (ADDRESS, e.g. ray://head:10001 or auto); bare --ray: LAB_RAY_ADDRESS, "
        "else a local Ray here.")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Without Ray: N worker processes here, the physical cores shared out as threads.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate models on a dataset: corpus WER with 95% CI, S/D/I, speed, paired comparison, per language.

    Clips are scored by their manifest language (CER headline for zh/ja/ko/th/lo/my/km/yue); a model is not
    run on clips in languages its catalog entry does not list (reported as skipped)."""
    from lab.engines.base import AsrOptions
    from lab.eval.evaluate import evaluate, load_dataset

    model_ids = _check_models(model)
    options = AsrOptions(language=language, beam_size=beam_size)
    dataset = load_dataset(manifest)
    missing = [row.file for row in dataset.rows if not row.file.is_file()]
    if missing and not skip_missing:
        raise BadInput(f"{manifest}: {len(missing)} file(s) missing: {', '.join(str(f) for f in missing)} "
                       "(--skip-missing runs the rest).")
    executor = _executor(ray, workers)
    bar, update = _progress("eval")
    with bar:
        report = evaluate(dataset, model_ids, options, progress=update, language_hint=not detect_language,
                          executor=executor)
    if as_json:
        _echo_json(report.to_json())
        return
    typer.echo(f"run {report.run_id}: {report.dataset}")
    _print_eval([m.to_json() for m in report.models], report.paired, report.notes)


@app.command()
def parity(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV.")],
    model: ModelOpt = None,
    compute_type: Annotated[str, typer.Option(help="One precision for all, so only the runtime differs.")] = "float32",
    as_json: JsonOpt = False,
) -> None:
    """The same weights in several runtimes: greedy decoding, WER, speed, identical transcripts."""
    from lab.eval.evaluate import parity as run_parity

    model_ids = _check_models(model)
    bar, update = _progress("parity")
    with bar:
        report = run_parity(manifest, model_ids, progress=update, compute_type=compute_type)
    if as_json:
        _echo_json(report.to_json())
        return
    out = report.to_json()
    _print_eval(out["models"], out["paired"], out["notes"])
    spread = out["wer_spread_points"]
    typer.echo(f"identical transcripts: {report.identical}/{report.clips} (normalised), "
               f"{report.identical_raw}/{report.clips} (raw); WER spread {_fmt(spread, '.2f')} points")


@app.command()
def robustness(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV.")],
    model: ModelOpt = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where to write the perturbed set.")] = Path(
        "perturbed"),
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 0,
    only: Annotated[list[str] | None, typer.Option("--only", help="Perturbation name (repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Perturb a dataset (noise, babble, speed, telephone, clipping) and report WER per perturbation."""
    from lab.eval.perturb import robustness as run_robustness

    model_ids = _check_models(model)
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInput(f"{out_dir}: is a file; give a folder for the perturbed set.")
    if not out_dir.parent.is_dir():
        raise BadInput(f"{out_dir}: folder {out_dir.parent} does not exist; create it first.")
    bar, update = _progress("robustness")
    with bar:
        report, curves = run_robustness(manifest, model_ids, out_dir, seed, only or None, progress=update)
    if as_json:
        _echo_json({"run_id": report.run_id, "manifest": str(out_dir / "manifest.csv"), "wer": curves})
        return
    tags = list(next(iter(curves.values())).keys()) if curves else []
    _table([[t, *[_fmt(curves[m].get(t)) for m in model_ids]] for t in tags], ["PERTURBATION", *model_ids])
    typer.echo(f"run {report.run_id}; perturbed set in {out_dir}")


baseline_app = typer.Typer(help="Baselines that regressions are judged against.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("set")
def baseline_set(
    model_id: Annotated[str, typer.Argument(metavar="ID", help="Model id.")],
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV.")],
    as_json: JsonOpt = False,
) -> None:
    """Evaluate ID on MANIFEST and store the figures as its baseline there."""
    from lab.eval.regress import set_baseline

    _check_models([model_id])
    bar, update = _progress("baseline")
    with bar:
        b = set_baseline(model_id, manifest, progress=update)
    if as_json:
        _echo_json(b.to_json())
    else:
        typer.echo(f"baseline {b.id}: {b.model_id} on {Path(b.dataset).name}: WER {_fmt(b.wer)}, "
                   f"p95 {_fmt(b.latency_p95_s)} s, RTFx {_fmt(b.rtfx, '.1f')}")


@app.command()
def regress(
    config: Annotated[Path, typer.Argument(help="YAML: datasets, models, thresholds, report.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the JSON report.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check models against thresholds and baselines. Exit 0 on pass, 1 on any regression."""
    from lab.eval.regress import load_config
    from lab.eval.regress import regress as run_regress

    cfg = load_config(config)
    chosen = output or cfg.report_path
    if chosen is not None:
        _writable(chosen, "report")
    bar, update = _progress("regress")
    with bar:
        report = run_regress(cfg, progress=update)
    target = chosen or Path(f"regress-report-{report.report_id}.json")
    target.write_text(json.dumps(report.to_json(), indent=2, default=str))
    if as_json:
        _echo_json(report.to_json())
    else:
        _table([[c.model, c.dataset, c.check, _fmt(c.value), c.limit,
                 "PASS" if c.passed else "FAIL", c.detail] for c in report.checks],
               ["MODEL", "DATASET", "CHECK", "VALUE", "LIMIT", "RESULT", "DETAIL"])
        typer.echo(f"{'PASSED' if report.passed else 'FAILED'}: report {report.report_id} written to {target}")
    if not report.passed:
        raise typer.Exit(1)


@app.command()
def stability(
    file: Annotated[Path, typer.Argument(help="Audio file.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Model id.")],
    runs: Annotated[int, typer.Option("--runs", min=1, help="Timed runs after the warm-up.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """N timed runs of one clip after a warm-up: latency percentiles, memory growth, determinism."""
    from lab.audio import load_audio
    from lab.eval.stability import stability as run_stability

    _check_models([model])
    clip = load_audio(file)
    bar, update = _progress("stability")
    with bar:
        r = run_stability(clip, model, runs, progress=update)
    if as_json:
        _echo_json(r.to_json())
        return
    typer.echo(f"run {r.run_id}: {model} × {r.runs} on {clip.name} ({clip.duration_s:.1f} s)")
    typer.echo(f"  latency p50 {_fmt(r.p50_s)} s  p95 {_fmt(r.p95_s)} s  p99 {_fmt(r.p99_s)} s  "
               f"std {_fmt(r.std_s, '.4f')} s")
    typer.echo(f"  first run {_fmt(r.first_run_s)} s vs warm mean {_fmt(r.warm_mean_s)} s")
    growth = "  GROWTH FLAGGED" if r.memory_growth else ""
    typer.echo(f"  memory {r.rss_start_mb:.0f} → {r.rss_end_mb:.0f} MB{growth}")
    typer.echo(f"  errors {r.errors}; transcripts identical: {'yes' if r.identical else 'NO'}")


@app.command()
def promote(
    model_id: Annotated[str, typer.Argument(metavar="ID", help="Model id.")],
    to: Annotated[str, typer.Option("--to", help="experimental, candidate, production or deprecated.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required; kept in the audit trail).")],
    actor: Annotated[str | None, typer.Option(help="Who; default: the login name.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a model through its lifecycle; refusals exit 2 and name the rule."""
    from lab.lifecycle import transition

    _check_models([model_id])
    moved = transition(model_id, to, reason, actor)
    if as_json:
        _echo_json([t.to_json() for t in moved])
        return
    for t in moved:
        typer.echo(f"{t.model_id}: {t.from_state} → {t.to_state} ({t.reason})")


@app.command()
def report(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID", help="A stored run (see `lab history`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path("report.html"),
) -> None:
    """Write one self-contained HTML report of a run (charts embedded, no server needed)."""
    from lab.serve.report import run_report_html

    _writable(output, "report")
    output.write_text(run_report_html(run_id), encoding="utf-8")
    typer.echo(f"wrote {output}")


@app.command()
def synthesize(
    text: Annotated[str, typer.Argument(help="What to say.")],
    model: Annotated[str, typer.Option("--model", "-m", help="TTS model id, see `lab voices`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="WAV file to write.")],
    voice: Annotated[str | None, typer.Option(help="Voice; default: the model's first.")] = None,
    asr: Annotated[str | None, typer.Option(help="ASR model for an intelligibility round trip.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Speak TEXT with a TTS model, write a WAV and store the run."""
    from lab.tts import check_text, check_voice, synthesize_run

    text = check_text(text)
    _writable(output, "WAV file")
    _check_models([model] + ([asr] if asr else []))
    check_voice(model, voice)
    ((run_id, r),) = list(synthesize_run(text, [model], voice, asr_model=asr))
    if r.error:
        typer.echo(f"lab: {r.error}", err=True)
        raise typer.Exit(1)
    output.write_bytes(r.wav_bytes())
    out = {"run_id": run_id, "model": r.model, "voice": r.voice, "path": str(output), "duration_s": r.duration_s,
           "latency_s": r.latency_s, "rtf": r.rtf, "first_audio_s": r.first_audio_s, "asr_wer": r.asr_wer,
           "asr_cer": r.asr_cer, "asr_metric": r.asr_metric, "asr_text": r.asr_text}
    if as_json:
        _echo_json(out)
    else:
        heard = f"; round-trip {(r.asr_metric or 'wer').upper()} {_fmt(r.asr_score)}" if asr else ""
        typer.echo(f"wrote {output}: {r.duration_s:.2f} s of speech in {r.latency_s:.3f} s (RTF {r.rtf:.3f}), "
                   f"run {run_id}" + heard)


@app.command("voices")
def voices_cmd(as_json: JsonOpt = False) -> None:
    """TTS models and their voices."""
    from lab.catalog import models_for
    from lab.engines import availability
    from lab.tts import voices

    out = []
    for spec in models_for("tts"):
        a = availability(spec.id)
        try:
            vs = voices(spec.id, load=a.available)
        except LabError:
            vs = []
        out.append({"model": spec.id, "available": a.available, "voices": vs, "hint": None if a.available else a.hint})
    if as_json:
        _echo_json(out)
        return
    _table([[m["model"], "yes" if m["available"] else "no", ", ".join(m["voices"]) or "-", m["hint"] or ""]
            for m in out], ["MODEL", "AVAILABLE", "VOICES", "HOW TO GET IT"])


apikey_app = typer.Typer(help="API keys for `lab serve`: only their hashes are stored.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
    admin: Annotated[bool, typer.Option("--admin", help="May delete runs and promote models.")] = False,
    experimental: Annotated[bool, typer.Option("--experimental", help="May use experimental models.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a key and print it once: it cannot be shown again."""
    from lab.store import create_key

    key, rec = create_key(name, admin=admin, experimental=experimental)
    if as_json:
        _echo_json({"key": key, **rec.to_json()})
        return
    rights = ", ".join(r for r, on in (("admin", admin), ("experimental", experimental)) if on) or "standard"
    typer.echo(key)
    typer.echo(f"key '{rec.name}' ({rights}); store it now, it is not shown again.", err=True)


@apikey_app.command("list")
def apikey_list(as_json: JsonOpt = False) -> None:
    """Every key: name, first characters, rights, created, revoked."""
    from lab.store import list_keys

    keys = list_keys()
    if as_json:
        _echo_json([k.to_json() for k in keys])
        return
    _table([[k.name, k.prefix + "…", "yes" if k.admin else "", "yes" if k.experimental else "",
             k.created_at.isoformat(timespec="seconds"), k.revoked_at.isoformat(timespec="seconds") if k.revoked_at
             else ""] for k in keys], ["NAME", "KEY", "ADMIN", "EXPERIMENTAL", "CREATED", "REVOKED"])


@apikey_app.command("revoke")
def apikey_revoke(name: Annotated[str, typer.Argument(help="The key's name (or its first 8 characters).")]) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    from lab.store import revoke_key

    for k in revoke_key(name):
        typer.echo(f"revoked '{k.name}' ({k.prefix}…)")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on; loopback unless you mean otherwise "
                                            "(put a reverse proxy with TLS in front for a team).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port.")] = 8000,
) -> None:
    """Serve the HTTP API (the same core as this CLI and the dashboard); keys from `lab apikey create`."""
    import uvicorn

    uvicorn.run("lab.api:app", host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1")


def optional_value(args: list[str], option: str, bare: str) -> list[str]:
    """`--ray` may stand alone (typer options always take a value): a bare one, followed by nothing, another
    option or an existing file (the manifest), gets `bare` as its value."""
    out = list(args)
    for i, a in enumerate(out):
        nxt = out[i + 1] if i + 1 < len(out) else None
        if a == option and (nxt is None or nxt.startswith("-") or Path(nxt).exists()):
            out.insert(i + 1, bare)
    return out


def main() -> None:
    """Console entry point: maps errors to exit codes and one-line messages."""
    try:
        code = app(args=optional_value(sys.argv[1:], "--ray", "local"), standalone_mode=False, prog_name="lab")
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
        _interrupt_runs()  # Ctrl-C: the run is marked, not left `running`
        sys.exit(130)
    except Exception as e:
        if settings().debug:
            traceback.print_exc()
        typer.echo(f"lab: internal error: {type(e).__name__}: {e} (set LAB_DEBUG=1 for details)", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
