"""One self-contained HTML report per run: tables and plotly charts inlined, no server needed."""

from __future__ import annotations

import html
from collections import defaultdict

import plotly.graph_objects as go

from lab.charts import accuracy_speed_figure
from lab.store import ResultRecord, RunDetail, get_run

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1f2933}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #e4e7eb}
table{border-collapse:collapse;width:100%;font-size:.9rem} th,td{padding:.35rem .6rem;border-bottom:1px solid #e4e7eb;
text-align:left;vertical-align:top} th{background:#f5f7fa} .muted{color:#7b8794;font-size:.85rem}
.err{color:#c62828} td.num{text-align:right;font-variant-numeric:tabular-nums}
"""


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x))


def _num(x: float | None, spec: str = ".3f") -> str:
    return "–" if x is None else format(x, spec)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(x: object, num: bool = False, cls: str = "") -> str:
    klass = " ".join(c for c in ("num" if num else "", cls) if c)
    return f'<td class="{klass}">{_e(x)}</td>' if klass else f"<td>{_e(x)}</td>"


def _model_rows(run: RunDetail) -> list[dict]:
    """One row per model: the eval summary when there is one, else the per-model results."""
    summary = run.summary or {}
    if summary.get("models"):
        return summary["models"]
    by_model: dict[str, list[ResultRecord]] = defaultdict(list)
    for r in run.results:
        by_model[r.model_id].append(r)
    out = []
    for model, rs in by_model.items():
        ok = [r for r in rs if not r.error]
        wers = [r.wer for r in ok if r.wer is not None]
        lats = [r.latency_s for r in ok if r.latency_s]
        out.append({"model": model, "wer": sum(wers) / len(wers) if wers else None, "wer_ci": None,
                    "cer": None, "rtfx": ok[0].rtfx if len(ok) == 1 else None,
                    "latency_p50_s": sorted(lats)[len(lats) // 2] if lats else None, "latency_p95_s": None,
                    "clips": len(rs), "errors": len(rs) - len(ok)})
    return out


def _charts(models: list[dict]) -> list[go.Figure]:
    names = [m["model"] for m in models]
    wer = go.Figure(go.Bar(x=names, y=[(m["wer"] or 0) * 100 for m in models], name="WER",
                           error_y={"type": "data", "symmetric": False,
                                    "array": [((m["wer_ci"] or [0, 0])[1] - (m["wer"] or 0)) * 100 for m in models],
                                    "arrayminus": [((m["wer"] or 0) - (m["wer_ci"] or [0, 0])[0]) * 100
                                                   for m in models]}))
    wer.update_layout(title="WER per model (%, 95% CI where evaluated)", yaxis_title="WER %", height=360)
    lat = go.Figure(go.Bar(x=names, y=[m["latency_p50_s"] or 0 for m in models], name="p50"))
    lat.update_layout(title="Latency per model (p50, s)", yaxis_title="seconds", height=360)
    scatter = accuracy_speed_figure({"models": models})  # the same chart as the Benchmarks page
    return [wer, lat] + ([scatter] if scatter else [])


def run_report_html(run_id: int) -> str:
    run = get_run(run_id)
    models = _model_rows(run)
    machine = run.machine or {}
    libs = ", ".join(f"{k} {v}" for k, v in (machine.get("libraries") or {}).items() if v)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Model Lab · run {run_id}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>Model Lab · {_e(run.kind)} run {run_id}</h1>",
             f"<p class='muted'>{_e(run.created_at)} UTC · status {_e(run.status)} · "
             f"{_e(run.clip or (run.settings or {}).get('dataset') or '')}</p>",
             f"<p class='muted'>{_e(machine.get('cpu'))} · {_e(machine.get('cores_physical'))} cores · threads "
             f"{_e(machine.get('threads'))} · GPU {_e((machine.get('gpu') or {}).get('name', 'none'))} · "
             f"Python {_e(machine.get('python'))}<br>{_e(libs)}</p>"]
    if run.reference:
        parts.append(f"<p><b>Reference:</b> {_e(run.reference)}</p>")
    parts.append("<h2>Models</h2>")
    parts.append(_table(["model", "WER", "95% CI", "CER", "RTFx", "p50 s", "p95 s", "clips", "errors"], [[
        _td(m["model"]), _td(_num(m["wer"]), True),
        _td("–" if not m.get("wer_ci") else f"[{m['wer_ci'][0]:.3f}, {m['wer_ci'][1]:.3f}]", True),
        _td(_num(m.get("cer")), True), _td(_num(m.get("rtfx"), ".1f"), True), _td(_num(m.get("latency_p50_s")), True),
        _td(_num(m.get("latency_p95_s")), True), _td(m.get("clips"), True),
        _td(m.get("errors"), True, "err" if m.get("errors") else "")] for m in models]))
    for p in (run.summary or {}).get("paired", []):
        parts.append(f"<p>{_e(p['a'])} − {_e(p['b'])}: {p['diff'] * 100:+.1f} WER points, 95% CI "
                     f"[{p['ci'][0] * 100:+.1f}, {p['ci'][1] * 100:+.1f}] → <b>{_e(p['verdict'])}</b></p>")
    for i, fig in enumerate(_charts(models)):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))  # plotly.js inlined once
    parts.append("<h2>Transcripts</h2>")
    names = run.clip_names
    parts.append(_table(["model", "clip", "text", "WER", "latency s", "error / flags"], [[
        _td(r.model_id), _td(names.get(r.clip_id) or run.clip or ""), _td(r.text),
        _td(_num(r.wer), True), _td(_num(r.latency_s), True),
        _td(r.error or ", ".join(r.flags or []), cls="err" if r.error else "")] for r in run.results]))
    parts.append("</body></html>")
    return "\n".join(parts)
