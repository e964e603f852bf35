"""What the Registry page shows: models by lifecycle state, the audit trail, regression alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard.format import fmt_params, fmt_pct, fmt_when, md_escape
from dashboard.picker import ModelOption
from lab.catalog import STATES, get_spec
from lab.store import EvalFigure, Transition


def eval_text(f: Mapping[str, Any] | EvalFigure | None) -> str:
    """'WER 11.5% (95% CI 5.0–18.0%) · samples/manifest.csv · run #3, 2026-11-25' for an evaluation figure
    (an `EvalFigure` or its JSON in a transition snapshot)."""
    if f is None:
        return "—"
    d = f.to_json() if isinstance(f, EvalFigure) else f
    ci = d.get("wer_ci")
    ci_text = f" (95% CI {fmt_pct(ci[0])}–{fmt_pct(ci[1])})" if ci else ""
    when = fmt_when(d.get("created_at"))[:10]
    return f"WER {fmt_pct(d.get('wer'))}{ci_text} · {d.get('dataset_name', '?')} · run #{d.get('run_id')}, {when}"


def registry_frames(options: Sequence[ModelOption], evaluations: Mapping[str, Sequence[EvalFigure]]
                    ) -> dict[str, pd.DataFrame]:
    """One table per lifecycle state: availability, size and each model's latest evaluation per dataset (corpus
    WER with its CI, dataset, date; `lifecycle.latest_evaluations`): what a move is decided on."""
    out: dict[str, pd.DataFrame] = {}
    for state in STATES:
        rows = []
        for o in options:
            if o.state != state:
                continue
            evals = list(evaluations.get(o.id, ()))
            newest = evals[0] if evals else None
            spec = get_spec(o.id)
            ci = newest.wer_ci if newest else None
            rows.append({
                "Model": o.id, "Available": o.available, "Tasks": ", ".join(spec.tasks),
                "Parameters": fmt_params(o.parameters),
                "Corpus WER": fmt_pct(newest.wer) if newest else "—",
                "95% CI": f"{fmt_pct(ci[0])}–{fmt_pct(ci[1])}" if ci else "—",
                "Dataset": newest.dataset_name if newest else "not evaluated",
                "Evaluated (UTC)": fmt_when(newest.created_at) if newest else "—",
                "Every dataset": "; ".join(eval_text(f) for f in evals) or "—",
                "Name": o.display_name, "Languages": ", ".join(spec.languages), "License": spec.license,
                "Weights / how to get them": o.where if o.available else o.hint,
            })
        out[state] = pd.DataFrame(rows)
    return out


def regression_text(r: Mapping[str, Any] | None) -> str:
    if not r:
        return "—"
    when = fmt_when(r.get("created_at"))[:10]
    return f"report #{r.get('report_id')} {'passed' if r.get('passed') else 'failed'}, {when}"


def transitions_frame(rows: Sequence[Transition]) -> pd.DataFrame:
    """The append-only lifecycle audit trail, newest first, with the evidence each move was made on: the
    evaluation and regression report the gates read (older moves kept a mean WER over recent results)."""
    out = []
    for r in rows:
        m = r.metrics or {}
        evaluation = eval_text(m.get("evaluation")) if m.get("evaluation") else (
            f"mean WER {fmt_pct(m.get('mean_wer'))} over {m.get('results')} results" if "mean_wer" in m else "—")
        out.append({
            "When (UTC)": fmt_when(r.at),
            "Model": r.model_id, "From": r.from_state or "—", "To": r.to_state,
            "Reason": r.reason, "By": r.actor, "Evaluation": evaluation,
            "Regression report": regression_text(m.get("regression")),
        })
    return pd.DataFrame(out, columns=["When (UTC)", "Model", "From", "To", "Reason", "By", "Evaluation",
                                      "Regression report"])


@dataclass(frozen=True)
class RefusalAction:
    """What the Registry offers beside a refusal: the page section that satisfies the rule, and the CLI way."""

    rule: str
    label: str
    page: str | None  # a dashboard page script, None when the fix is on this page
    cli: str | None


def refusal_actions(rules: Sequence[str], model_id: str) -> list[RefusalAction]:
    """The actions that satisfy the rules a move was refused by (`TransitionError.rules`)."""
    out = []
    for rule in rules:
        if rule == "needs-evaluation":
            out.append(RefusalAction(rule, f"Evaluate {model_id} on Benchmarks → Evaluation", "screens/benchmarks.py",
                                     f"lab eval MANIFEST -m {model_id}"))
        elif rule == "needs-passing-regression":
            out.append(RefusalAction(rule, f"Set {model_id}'s baseline and run a regression gate on Benchmarks → "
                                     "Regression gates", "screens/benchmarks.py",
                                     f"lab baseline set {model_id} MANIFEST; lab regress CONFIG.yaml"))
        elif rule == "one-step-at-a-time":
            out.append(RefusalAction(rule, "Move one step at a time: pick the next state above", None, None))
        elif rule == "reason-required":
            out.append(RefusalAction(rule, "Give a reason above", None, None))
    return out


def alerts_markdown(alerts: Sequence[str]) -> str:
    """`lab.eval.regress.alerts()` as the warning box Registry and Benchmarks show (one bullet per failed check)."""
    return ("**The latest regression report failed** (details under Benchmarks → Regression gates):\n"
            + "\n".join(f"- {md_escape(a)}" for a in alerts))
