"""Baselines and regression gates: has a model got worse than we accepted before?

`lab regress CONFIG.yaml` evaluates the configured models on the configured datasets and checks:
max absolute WER, max WER increase over the model's baseline (in WER points), and max p95 latency
ratio over the baseline. The report is stored; the latest failed one shows as an alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lab import store
from lab.catalog import get_spec
from lab.errors import LabError
from lab.eval.evaluate import EvalReport, Progress, evaluate, load_dataset
from lab.loading import ModelCache
from lab.store import Baseline, RegressionCheck, RegressionReport

THRESHOLD_KEYS = ("max_wer", "max_wer_increase_points", "max_p95_latency_ratio")


def set_baseline(model_id: str, manifest: str | Path, cache: ModelCache | None = None,
                 progress: Progress | None = None) -> Baseline:
    """Evaluate `model_id` on the dataset and store the figures as its baseline there."""
    ds = load_dataset(manifest)
    report = evaluate(ds, [model_id], cache=cache, progress=progress, kind="baseline")
    m = report.models[0]
    if m.wer is None:
        raise LabError(f"{model_id} produced no scored transcript on {ds.path.name}; no baseline stored.")
    return store.add_baseline(Baseline(model_id=model_id, dataset=str(ds.path), dataset_sha256=ds.sha256,
                                       run_id=report.run_id, wer=m.wer, cer=m.cer, latency_p95_s=m.latency_p95_s,
                                       rtfx=m.rtfx))


def latest_baseline(model_id: str, dataset: str | Path) -> Baseline | None:
    return store.latest_baseline(model_id, dataset)


@dataclass
class RegressConfig:
    datasets: list[Path]
    models: list[str]
    thresholds: dict[str, float]
    report_path: Path | None = None
    raw: dict = field(default_factory=dict)


def load_config(path: str | Path) -> RegressConfig:
    path = Path(path)
    if not path.is_file():
        raise LabError(f"{path}: no such regression config.")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise LabError(f"{path}: not valid YAML ({str(e).splitlines()[0]}).") from None
    datasets = raw.get("datasets") or ([raw["dataset"]] if raw.get("dataset") else [])
    models = raw.get("models") or []
    thresholds = raw.get("thresholds") or {}
    if not datasets or not models:
        raise LabError(f"{path}: needs 'datasets' (manifest paths) and 'models' (model ids).")
    unknown = set(thresholds) - set(THRESHOLD_KEYS)
    if unknown:
        raise LabError(f"{path}: unknown thresholds {sorted(unknown)}; known: {', '.join(THRESHOLD_KEYS)}.")
    for m in models:
        get_spec(m)
    base = path.parent
    report = raw.get("report")
    return RegressConfig([(base / d).resolve() for d in datasets], list(models),
                         {k: float(v) for k, v in thresholds.items()},
                         (base / report).resolve() if report else None, raw)


def make_config(datasets: list[str | Path], models: list[str], thresholds: dict[str, float | None]) -> RegressConfig:
    """A config built from chosen values (the Benchmarks page) instead of a YAML file; thresholds left None are
    not checked. Stored with the report like a file's contents."""
    if not datasets or not models:
        raise LabError("A regression gate needs at least one dataset and one model.")
    chosen = {k: float(v) for k, v in thresholds.items() if v is not None}
    unknown = set(chosen) - set(THRESHOLD_KEYS)
    if unknown:
        raise LabError(f"unknown thresholds {sorted(unknown)}; known: {', '.join(THRESHOLD_KEYS)}.")
    if not chosen:
        raise LabError("A regression gate needs at least one threshold.")
    for m in models:
        get_spec(m)
    paths = [Path(d).expanduser().resolve() for d in datasets]
    for p in paths:
        if not p.is_file():
            raise LabError(f"{p}: no such manifest.")
    raw = {"datasets": [str(p) for p in paths], "models": list(models), "thresholds": chosen}
    return RegressConfig(paths, list(models), chosen, None, raw)


Check = RegressionCheck  # one threshold check (the stored record)


def _checks(model: str, dataset: Path, ev: EvalReport, t: dict[str, float]) -> list[Check]:
    m = ev.model(model)
    name = dataset.name
    out: list[Check] = []
    if m.errors:
        out.append(Check(model, name, "errors", m.errors, 0, False, f"{m.errors} clip(s) failed"))
    if "max_wer" in t:
        out.append(Check(model, name, "max_wer", m.wer, t["max_wer"], m.wer is not None and m.wer <= t["max_wer"]))
    base = latest_baseline(model, dataset)
    for key in ("max_wer_increase_points", "max_p95_latency_ratio"):
        if key not in t:
            continue
        if base is None:
            out.append(Check(model, name, key, None, t[key], False,
                             "no baseline: set one (Benchmarks → Regression gates, or `lab baseline set`)"))
            continue
        if key == "max_wer_increase_points":
            value = None if m.wer is None else (m.wer - base.wer) * 100
        else:
            value = None if not (m.latency_p95_s and base.latency_p95_s) else m.latency_p95_s / base.latency_p95_s
        out.append(Check(model, name, key, value, t[key], value is not None and value <= t[key],
                         f"baseline #{base.id}"))
    return out


def regress(config: RegressConfig, cache: ModelCache | None = None,
            progress: Progress | None = None) -> RegressionReport:
    """Run the configured evaluations and checks; store and return the report (passed: bool)."""
    checks: list[Check] = []
    runs = []
    for dataset in config.datasets:
        ev = evaluate(dataset, config.models, cache=cache, progress=progress, kind="regress")
        runs.append(ev.run_id)
        for model in config.models:
            checks.extend(_checks(model, dataset, ev, config.thresholds))
    passed = all(c.passed for c in checks)
    report = RegressionReport(passed=passed, checks=checks, runs=runs, models=list(config.models),
                              datasets=[str(d) for d in config.datasets], thresholds=config.thresholds)
    return store.add_regression_report(report, config.raw)


def reports(limit: int = 20) -> list[RegressionReport]:
    return store.regression_reports(limit)


def alerts() -> list[str]:
    """Failed checks of the latest report, one line each (shown on Registry and Benchmarks)."""
    latest = reports(1)
    if not latest or latest[0].passed:
        return []
    return [f"{c.model} on {c.dataset}: {c.check} = {_fmt(c.value)} exceeds {c.limit}"
            + (f" ({c.detail})" if c.detail else "") for c in latest[0].checks if not c.passed]


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"
