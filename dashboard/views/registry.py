"""What the Registry page shows: models by lifecycle state, the audit trail, regression alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from dashboard.format import fmt_params, fmt_pct, fmt_seconds, fmt_when, md_escape
from dashboard.picker import ModelOption
from lab.catalog import STATES, get_spec
from lab.store import Transition


def registry_frames(options: Sequence[ModelOption], snapshots: Mapping[str, Mapping[str, Any]]
                    ) -> dict[str, pd.DataFrame]:
    """One table per lifecycle state: availability, size and the latest metrics (what a move is decided on)."""
    out: dict[str, pd.DataFrame] = {}
    for state in STATES:
        rows = []
        for o in options:
            if o.state != state:
                continue
            snap = snapshots.get(o.id, {})
            spec = get_spec(o.id)
            rows.append({
                "Model": o.id, "Available": o.available, "Tasks": ", ".join(spec.tasks),
                "Parameters": fmt_params(o.parameters),
                "Results": snap.get("results", 0), "Mean WER": fmt_pct(snap.get("mean_wer")),
                "Mean latency": fmt_seconds(snap.get("mean_latency_s")), "Name": o.display_name,
                "Languages": ", ".join(spec.languages), "License": spec.license,
                "Weights / how to get them": o.where if o.available else o.hint,
            })
        out[state] = pd.DataFrame(rows)
    return out


def transitions_frame(rows: Sequence[Transition]) -> pd.DataFrame:
    """The append-only lifecycle audit trail, newest first, with the evidence each move was made on."""
    out = []
    for r in rows:
        m = r.metrics or {}
        out.append({
            "When (UTC)": fmt_when(r.at),
            "Model": r.model_id, "From": r.from_state or "—", "To": r.to_state,
            "Reason": r.reason, "By": r.actor, "Results": m.get("results"),
            "Mean WER": fmt_pct(m.get("mean_wer")), "Mean latency": fmt_seconds(m.get("mean_latency_s")),
        })
    return pd.DataFrame(out, columns=["When (UTC)", "Model", "From", "To", "Reason", "By", "Results", "Mean WER",
                                      "Mean latency"])


def alerts_markdown(alerts: Sequence[str]) -> str:
    """`lab.eval.regress.alerts()` as the warning box Registry and Benchmarks show (one bullet per failed check)."""
    return ("**The latest regression report failed** (details under Benchmarks → Regression gates):\n"
            + "\n".join(f"- {md_escape(a)}" for a in alerts))
