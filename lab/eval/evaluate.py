"""Dataset evaluation: corpus WER with bootstrap CIs, paired comparisons, speed, per-clip table.

A dataset is a manifest CSV (`file,reference[,language,speakers,tags]`, paths relative to the CSV),
the same format as ../shared/audio/manifest.csv. Each model runs over every clip before the next
model starts (one load, fair timing); clips are decoded once and shared.

Languages: a clip is scored by its manifest language's rules (lab.metrics), and a model is not run on a
clip in a language its catalog entry does not list (counted as skipped, with the reason). A multilingual
model is told the clip's language by default, so its accuracy is not mixed up with language-id errors;
`language_hint=False` lets it detect the language instead, and then `language_id_accuracy` is measured.
Headline WER/CER are over the clips a model ran; `by_language` and `by_tag` give each group's headline
metric (CER for languages written without spaces) with a bootstrap CI.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

from lab import store
from lab.audio import AudioClip, load_audio
from lab.catalog import ModelSpec, get_spec
from lab.engines.base import AsrOptions
from lab.errors import AudioError, LabError
from lab.languages import is_known_language
from lab.loading import ModelCache, default_cache
from lab.metrics import Score, base_language, bootstrap_ci, bootstrap_wer_ci, corpus_score, paired_wer_diff, percentiles
from lab.runner import ModelResult, transcribe_one

Progress = Callable[[int, int, str], None]  # (done, total, what)


@dataclass(frozen=True)
class DatasetRow:
    file: Path
    reference: str | None
    language: str | None = None
    speakers: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def single_language(self) -> str | None:
        """A language code to pass to the model, only when the clip has exactly one."""
        lang = (self.language or "").strip()
        return lang if lang and "+" not in lang and "," not in lang else None

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language of the clip ('en+es' → ('en', 'es')), as base codes; () when unknown."""
        parts = (self.language or "").replace("+", ",").split(",")
        return tuple(dict.fromkeys(b for b in (base_language(x) for x in parts) if b))

    @property
    def language_key(self) -> str:
        """The clip's group in `by_language`: 'en', 'en+es', or 'unknown'."""
        return "+".join(self.languages) or "unknown"


def unsupported_reason(spec: ModelSpec, row: DatasetRow) -> str | None:
    """Why `spec` must not run on the clip, or None: a language not in the catalog's `languages`."""
    if "multi" in spec.languages or not row.languages:
        return None
    missing = [x for x in row.languages if not spec.speaks(base_language(x) or x)]
    if not missing:
        return None
    return f"language {'+'.join(missing)} not among the model's languages ({', '.join(spec.languages)})"


@dataclass
class Dataset:
    path: Path
    rows: list[DatasetRow]
    sha256: str
    notes: list[str] = field(default_factory=list)


def load_dataset(path: str | Path) -> Dataset:
    path = Path(path).resolve()
    if not path.is_file():
        raise LabError(f"{path}: no such manifest.")
    raw = path.read_bytes()
    try:
        reader = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    except (UnicodeDecodeError, csv.Error) as e:
        raise LabError(f"{path}: not a readable CSV manifest ({e}).") from None
    if not reader or "file" not in reader[0] or "reference" not in reader[0]:
        raise LabError(f"{path}: a manifest needs a header with at least 'file,reference'.")
    rows, notes = [], []
    for r in reader:
        file = (path.parent / r["file"].strip()).resolve()
        ref = (r.get("reference") or "").strip() or None
        tags = tuple(t.strip() for t in (r.get("tags") or "").replace(";", ",").split(",") if t.strip())
        rows.append(DatasetRow(file, ref, (r.get("language") or "").strip() or None, r.get("speakers"), tags))
        if ref is None:
            notes.append(f"{file.name}: no reference; transcribed but not scored for WER.")
    return Dataset(path, rows, hashlib.sha256(raw).hexdigest(), notes)


@dataclass
class ModelSummary:
    model: str
    wer: float | None
    wer_ci: tuple[float, float] | None
    cer: float | None
    substitutions: int
    deletions: int
    insertions: int
    ref_words: int
    rtfx: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    clips: int  # clips scored for WER
    errors: int
    flags: dict[str, int] = field(default_factory=dict)
    skipped: int = 0  # clips not run: a language the model does not support
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    # {"en": {"metric": "wer", "value": .., "ci": [lo, hi], "clips": n}, "zh": {"metric": "cer", ..}}
    by_language: dict[str, dict] = field(default_factory=dict)
    by_tag: dict[str, dict] = field(default_factory=dict)
    # share of clips whose detected language matched the reference's; None for English-only models and
    # when the model was told each clip's language (nothing was detected)
    language_id_accuracy: float | None = None
    language_id_clips: int = 0
    language_given: bool = False  # the clip's manifest language was passed to the model

    def to_json(self) -> dict:
        d = asdict(self)
        d["wer_ci"] = list(self.wer_ci) if self.wer_ci else None
        return d


@dataclass
class EvalReport:
    dataset: str
    models: list[ModelSummary]
    per_clip: list[dict]
    paired: list[dict]
    notes: list[str]
    run_id: int | None = None
    results: dict[str, list[ModelResult | None]] = field(default_factory=dict, repr=False)

    def model(self, model_id: str) -> ModelSummary:
        return next(m for m in self.models if m.model == model_id)

    def to_json(self, per_clip: bool = True) -> dict:
        out = {"run_id": self.run_id, "dataset": self.dataset, "models": [m.to_json() for m in self.models],
               "paired": self.paired, "notes": self.notes}
        if per_clip:
            out["per_clip"] = self.per_clip
        return out


def decode_dataset(ds: Dataset, notes: list[str]) -> list[tuple[DatasetRow, AudioClip]]:
    """Decode every clip once; a clip that cannot be used is noted and skipped, not fatal."""
    out = []
    for row in ds.rows:
        try:
            out.append((row, load_audio(row.file)))
        except AudioError as e:
            notes.append(f"skipped: {e}")
    return out


@dataclass(frozen=True)
class ClipJob:
    """One model on one clip: everything a worker needs besides the audio (clips[index])."""

    model_id: str
    index: int
    options: AsrOptions
    reference: str | None
    reference_language: str | None
    device: str | None = None
    compute_type: str | None = None


def run_job(job: ClipJob, clip: AudioClip, cache: ModelCache) -> ModelResult:
    return transcribe_one(clip, job.model_id, job.reference, job.options, cache, job.device, job.compute_type,
                          reference_language=job.reference_language)


class ClipExecutor(Protocol):
    """Runs jobs over the decoded clips and yields each (job, result) as it finishes, in any order."""

    def __call__(self, jobs: list[ClipJob], clips: list[AudioClip]) -> Iterator[tuple[ClipJob, ModelResult]]: ...

    def describe(self) -> dict: ...


@dataclass
class SequentialExecutor:
    """One clip after another in this process: each model over every clip before the next model (one load)."""

    cache: ModelCache

    def __call__(self, jobs: list[ClipJob], clips: list[AudioClip]) -> Iterator[tuple[ClipJob, ModelResult]]:
        for job in jobs:
            yield job, run_job(job, clips[job.index], self.cache)

    def describe(self) -> dict:
        return {"mode": "sequential"}


def _plan(clips: list[tuple[DatasetRow, AudioClip]], model_ids: Sequence[str], specs: dict[str, ModelSpec],
          options: AsrOptions, language_hint: bool, device: str | None, compute_type: str | None,
          ) -> tuple[list[ClipJob], dict[str, list[ModelResult | None]]]:
    """The jobs to run, model by model, and the results table with unsupported clips already filled in."""
    jobs: list[ClipJob] = []
    results: dict[str, list[ModelResult | None]] = {m: [None] * len(clips) for m in model_ids}
    for model_id in model_ids:
        for i, (row, _) in enumerate(clips):
            reason = unsupported_reason(specs[model_id], row)
            if reason:
                results[model_id][i] = ModelResult(model_id, skipped=reason)
                continue
            hint = row.single_language if language_hint else None
            hint = hint if hint and is_known_language(hint) else None  # an odd manifest code: let it detect
            opts = replace(options, language=options.language or hint)
            jobs.append(ClipJob(model_id, i, opts, row.reference, row.single_language, device, compute_type))
    return jobs, results


def evaluate(dataset: Dataset | str | Path, model_ids: Sequence[str], options: AsrOptions | None = None,
             cache: ModelCache | None = None, progress: Progress | None = None, store_run: bool = True,
             kind: str = "eval", device: str | None = None, compute_type: str | None = None,
             language_hint: bool = True, executor: ClipExecutor | None = None) -> EvalReport:
    """`language_hint`: tell multilingual models each clip's manifest language (default), or let them detect
    it (then language-id accuracy is measured). Scoring always follows the manifest language.
    `executor` runs the clips (default: one after another here; lab.eval.distributed spreads them over worker
    processes or a Ray cluster); results are stored into the same run as they arrive."""
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    specs = {m: get_spec(m) for m in model_ids}  # unknown ids are bad input, before any work
    options, cache = options or AsrOptions(), cache or default_cache()
    notes = list(ds.notes)
    clips = decode_dataset(ds, notes)
    if not clips:
        raise LabError(f"{ds.path}: no usable clips in the manifest.")
    execution = executor.describe() if executor else {"mode": "sequential"}
    run_id = _start(ds, model_ids, options, kind, device, compute_type, execution) if store_run else None
    finished = False
    try:
        clip_ids = {row.file: store.save_clip(clip) for row, clip in clips} if store_run else {}
        jobs, results = _plan(clips, model_ids, specs, options, language_hint, device, compute_type)
        total = len(jobs)
        if progress:
            progress(0, total, "starting")
        stream = (executor or SequentialExecutor(cache))(jobs, [clip for _, clip in clips])
        for done, (job, r) in enumerate(stream, 1):
            results[job.model_id][job.index] = r  # results stream back in any order; kept in clip order
            if run_id is not None:
                store.add_result(run_id, {**r.row(), "clip_id": clip_ids[clips[job.index][0].file]})
            if progress:
                progress(done, total, f"{job.model_id} · {clips[job.index][0].name}")
        told = {m: bool(options.language) or (language_hint and not specs[m].english_only) for m in model_ids}
        report = summarize(ds, clips, results, notes, told)
        report.run_id = run_id
        if run_id is not None:
            errors = sum(m.errors for m in report.models)
            # each clip's reference and language travel with the run, so exports can fill them per result
            refs = [{"clip_id": clip_ids[row.file], "file": row.name, "reference": row.reference,
                     "language": row.language} for row, _ in clips]
            store.finish_run(run_id, "done" if not errors else "partial",
                             summary={**report.to_json(per_clip=False), "clips": refs})
        finished = True
        return report
    finally:
        if run_id is not None and not finished:  # interrupted (Ctrl-C, a stopped page): not left "running"
            store.finish_run(run_id, "partial")


def _start(ds: Dataset, model_ids: Sequence[str], options: AsrOptions, kind: str, device: str | None,
           compute_type: str | None, execution: dict) -> int:
    settings = {"dataset": str(ds.path), "dataset_sha256": ds.sha256, "models": list(model_ids),
                "options": asdict(options), "clips": len(ds.rows), "sequential": execution["mode"] == "sequential",
                "execution": execution, "device": device, "compute_type": compute_type}
    return store.start_run(kind, settings, note=ds.path.name)


def summarize(ds: Dataset, clips: list[tuple[DatasetRow, AudioClip]], results: dict[str, list[ModelResult]],
              notes: list[str], language_given: dict[str, bool] | None = None) -> EvalReport:
    language_given = language_given or {}
    models = [_model_summary(m, rs, clips, language_given.get(m, False)) for m, rs in results.items()]
    for m in models:
        for reason, n in m.skipped_reasons.items():
            notes.append(f"{m.model}: skipped {n} clip(s): {reason}.")
        if m.language_given and not get_spec(m.model).english_only:
            notes.append(f"{m.model}: told each clip's manifest language; language-id accuracy not measured "
                         "(lab eval --detect-language measures it).")
    if any(not row.languages for row, _ in clips):
        notes.append("clips without a manifest language are scored by the model's or detected language "
                     "(language_source in each score).")
    per_clip = []
    for i, (row, clip) in enumerate(clips):
        entry = {"file": row.name, "duration_s": clip.duration_s, "reference": row.reference,
                 "language": row.language}
        for m, rs in results.items():
            r = rs[i]
            s = r.score
            entry[m] = {"text": r.text, "wer": r.wer, "latency_s": r.latency_s, "error": r.error, "flags": r.flags,
                        "cer": r.cer, "headline_metric": s.headline_metric if s else None,
                        "language": r.language, "skipped": r.skipped, "note": s.note if s else None}
        per_clip.append(entry)
    paired = []
    for a, b in itertools.combinations(results, 2):
        pairs = [(x.score, y.score) for x, y in zip(results[a], results[b], strict=True) if x.score and y.score]
        d = paired_wer_diff([p[0] for p in pairs], [p[1] for p in pairs]) if pairs else None
        if d is not None:
            paired.append({"a": a, "b": b, "diff": d.diff, "ci": [d.lo, d.hi], "clips": len(pairs),
                           "verdict": d.verdict.replace("A", a, 1).replace("B", b, 1),
                           "by_language": _paired_by_language(a, b, pairs)})
    return EvalReport(str(ds.path), models, per_clip, paired, notes, results=dict(results))


def _paired_by_language(a: str, b: str, pairs: list[tuple[Score, Score]]) -> dict[str, dict]:
    """The paired comparison within each language both models ran, in that language's headline metric."""
    by_lang: dict[str, list[tuple[Score, Score]]] = {}
    for x, y in pairs:
        by_lang.setdefault(x.language or "unknown", []).append((x, y))
    out = {}
    for lang, group in sorted(by_lang.items()):
        metric = "cer" if all(x.headline_metric == "cer" for x, _ in group) else "wer"
        d = paired_wer_diff([x for x, _ in group], [y for _, y in group], metric=metric)
        if d is not None:
            out[lang] = {"metric": metric, "diff": d.diff, "ci": [d.lo, d.hi], "clips": len(group),
                         "verdict": d.verdict.replace("A", a, 1).replace("B", b, 1)}
    return out


def _group(scores: list[Score]) -> dict | None:
    """One group's headline: CER when every clip in it is headlined by CER, else WER; None if nothing scored."""
    used = [s for s in scores if s.wer is not None]
    if not used:
        return None
    metric = "cer" if all(s.headline_metric == "cer" for s in used) else "wer"
    c = corpus_score(used)
    ci = bootstrap_ci(used, metric)
    return {"metric": metric, "value": c.cer if metric == "cer" else c.wer, "ci": list(ci) if ci else None,
            "clips": c.clips}


def _groups(keyed: list[tuple[str, Score]]) -> dict[str, dict]:
    by: dict[str, list[Score]] = {}
    for key, s in keyed:
        by.setdefault(key, []).append(s)
    return {k: g for k, v in sorted(by.items()) if (g := _group(v)) is not None}


def _model_summary(model_id: str, rs: list[ModelResult], clips: list[tuple[DatasetRow, AudioClip]],
                   language_given: bool = False) -> ModelSummary:
    scores = [r.score for r in rs if r.ok and r.score is not None]
    scored = [(row, r.score) for r, (row, _) in zip(rs, clips, strict=True) if r.ok and r.score is not None]
    skipped: dict[str, int] = {}
    for r in rs:
        if r.skipped:
            skipped[r.skipped] = skipped.get(r.skipped, 0) + 1
    detected = [(base_language(r.language), row.languages[0]) for r, (row, _) in zip(rs, clips, strict=True)
                if r.ok and len(row.languages) == 1]
    measure_lid = not language_given and not get_spec(model_id).english_only and detected
    c = corpus_score(scores)
    ok = [(r, clip) for r, (_, clip) in zip(rs, clips, strict=True) if r.ok and r.latency_s]
    audio, compute = sum(clip.duration_s for _, clip in ok), sum(r.latency_s for r, _ in ok)
    p = percentiles([r.latency_s for r, _ in ok], (50, 95))
    flags: dict[str, int] = {}
    for r in rs:
        for f in r.flags:
            flags[f] = flags.get(f, 0) + 1
    return ModelSummary(
        model=model_id, wer=c.wer, wer_ci=bootstrap_wer_ci(scores), cer=c.cer, substitutions=c.substitutions,
        deletions=c.deletions, insertions=c.insertions, ref_words=c.ref_words,
        rtfx=audio / compute if compute else None, latency_p50_s=p["p50"], latency_p95_s=p["p95"],
        clips=c.clips, errors=sum(1 for r in rs if r.error is not None), flags=flags,
        skipped=sum(skipped.values()), skipped_reasons=skipped,
        by_language=_groups([(row.language_key, s) for row, s in scored]),
        by_tag=_groups([(t, s) for row, s in scored for t in row.tags]),
        language_id_accuracy=sum(d == ref for d, ref in detected) / len(detected) if measure_lid else None,
        language_id_clips=len(detected) if measure_lid else 0, language_given=language_given,
    )


@dataclass
class ParityReport:
    eval: EvalReport
    clips: int
    identical: int  # clips whose transcripts are identical (after normalisation) across all models
    identical_raw: int
    wer_spread_points: float | None  # max - min corpus WER, in WER points

    def to_json(self) -> dict:
        return {"run_id": self.eval.run_id, "models": [m.to_json() for m in self.eval.models],
                "clips": self.clips, "identical": self.identical, "identical_raw": self.identical_raw,
                "wer_spread_points": self.wer_spread_points, "paired": self.eval.paired, "notes": self.eval.notes}


def parity(dataset: Dataset | str | Path, model_ids: Sequence[str], cache: ModelCache | None = None,
           progress: Progress | None = None, compute_type: str | None = "float32") -> ParityReport:
    """The same weights in several runtimes: greedy decoding, same audio, same precision; how close?"""
    from lab.metrics import normalize

    options = AsrOptions(beam_size=1, word_timestamps=False)
    report = evaluate(dataset, model_ids, options, cache, progress, kind="parity", compute_type=compute_type)
    texts = list(zip(*(report.results[m] for m in model_ids), strict=True))
    ok = [t for t in texts if all(r.ok for r in t)]
    identical = sum(1 for t in ok if len({normalize(r.text or "") for r in t}) == 1)
    identical_raw = sum(1 for t in ok if len({(r.text or "").strip() for r in t}) == 1)
    wers = [m.wer for m in report.models if m.wer is not None]
    spread = (max(wers) - min(wers)) * 100 if len(wers) == len(model_ids) and wers else None
    return ParityReport(report, len(ok), identical, identical_raw, spread)


@dataclass(frozen=True)
class RunWer:
    """What a run's WER figure is: an evaluation's corpus WER/CER per model (from its stored summary), or for
    any other run the best single result, with `basis` saying which."""

    basis: str  # "corpus" (evaluation, per model), "clip" (one clip), "best result" (several clips), "none"
    corpus: list[store.EvalFigure]
    best_wer: float | None

    @property
    def label(self) -> str:
        return {"corpus": "corpus WER per model over the dataset", "clip": "best model's WER on this clip",
                "best result": "best single result (not a corpus figure)", "none": "no WER"}[self.basis]


def run_wers(runs: Sequence[store.RunSummary]) -> dict[int, RunWer]:
    """Each listed run's honest WER figure (History's table and run header)."""
    corpus = store.run_eval_figures([r.run_id for r in runs])
    out = {}
    for r in runs:
        if r.run_id in corpus:
            out[r.run_id] = RunWer("corpus", corpus[r.run_id], None)
        elif r.best_wer is None:
            out[r.run_id] = RunWer("none", [], None)
        else:
            out[r.run_id] = RunWer("clip" if r.clip else "best result", [], r.best_wer)
    return out
