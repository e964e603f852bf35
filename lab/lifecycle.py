"""Model lifecycle: experimental → candidate → production → deprecated, with rules that refuse.

Every transition is appended to the audit history (who, when, from, to, why, and the metrics it was
decided on). The rules live here so the CLI, the dashboard and the API enforce the same ones.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass

from lab import store
from lab.catalog import STATES, ModelSpec, catalog, get_spec
from lab.errors import LabError, NotFoundError, TransitionError
from lab.store import EvalFigure, RegressionReport, Transition, model_states

# Allowed moves, one step at a time (no skipping experimental → production).
ALLOWED: dict[str, tuple[str, ...]] = {
    "experimental": ("candidate", "deprecated"),
    "candidate": ("production", "experimental", "deprecated"),
    "production": ("candidate", "deprecated"),
    "deprecated": ("experimental", "candidate"),
}


@dataclass(frozen=True)
class Rule:
    name: str
    check: Callable[[ModelSpec, str, str], str | None]  # returns why it refuses, or None


def _rule_known_state(spec: ModelSpec, current: str, target: str) -> str | None:
    if target not in STATES:
        return f"'{target}' is not a lifecycle state ({', '.join(STATES)})"
    return None


def _rule_one_step(spec: ModelSpec, current: str, target: str) -> str | None:
    if target == current:
        return f"{spec.id} is already {current}"
    if target not in ALLOWED[current]:
        return f"{current} → {target} is not allowed; from {current} a model may go to {' or '.join(ALLOWED[current])}"
    return None


EVAL_KINDS = store.EVAL_RUN_KINDS


def _rule_needs_eval(spec: ModelSpec, current: str, target: str) -> str | None:
    """experimental → candidate needs at least one stored evaluation of the model."""
    if (current, target) != ("experimental", "candidate"):
        return None
    found = store.has_result_of_kind(spec.id, EVAL_KINDS)
    return None if found else f"{spec.id} has no stored evaluation; evaluate it (`lab eval MANIFEST -m {spec.id}`)"


def latest_regression(model_id: str) -> RegressionReport | None:
    """The newest regression report covering the model since its state last changed (what the gate reads)."""
    changed = store.changed_at(model_id)
    for r in store.regression_reports(limit=None):
        if model_id in r.models and store.aware(r.created_at) >= changed:
            return r
    return None


def _rule_needs_passing_regression(spec: ModelSpec, current: str, target: str) -> str | None:
    """candidate → production needs a passing regression report, newer than the model's last change."""
    if (current, target) != ("candidate", "production"):
        return None
    r = latest_regression(spec.id)
    if r is None:
        return (f"no passing regression report for {spec.id} since it last changed; set its baseline and run a "
                "regression gate (`lab baseline set ID MANIFEST`, `lab regress CONFIG.yaml`)")
    return None if r.passed else f"the latest regression report (#{r.report_id}) covering {spec.id} failed"


RULES: list[Rule] = [
    Rule("known-state", _rule_known_state),
    Rule("one-step-at-a-time", _rule_one_step),
    Rule("needs-evaluation", _rule_needs_eval),
    Rule("needs-passing-regression", _rule_needs_passing_regression),
]


def models_overview() -> list[dict]:
    """Every catalog model with its lifecycle state, whether (and from where) it can run here and its newest
    evaluation's corpus figures (`latest_eval`): what `lab models` prints and `GET /models` returns."""
    from lab.engines import availability

    states = model_states()
    evals = store.latest_evaluations()
    out = []
    for spec in catalog().values():
        a = availability(spec.id)
        out.append({"id": spec.id, "runtime": spec.runtime, "tasks": list(spec.tasks),
                    "state": states.get(spec.id, spec.default_state), "available": a.available,
                    "source": a.source, "path": a.path, "hint": None if a.available else a.hint,
                    "latest_eval": next((f.to_json() for f in evals if f.model_id == spec.id), None)})
    return out


def state_of(model_id: str) -> str:
    return store.state_of(get_spec(model_id).id)


def refusals(model_id: str, target: str) -> list[tuple[str, str]]:
    """(rule, why) for every rule that refuses the move; empty when allowed."""
    spec = get_spec(model_id)
    current = state_of(model_id)
    out = []
    for rule in RULES:
        why = rule.check(spec, current, target)
        if why:
            out.append((rule.name, why))
            if rule.name in ("known-state", "one-step-at-a-time"):
                break
    return out


def check(model_id: str, target: str) -> list[str]:
    """Reasons the move would be refused, each naming its rule; empty when allowed."""
    return [f"[{rule}] {why}" for rule, why in refusals(model_id, target)]


def latest_evaluations(model_id: str) -> list[EvalFigure]:
    """The model's newest evaluation per dataset, newest first: corpus figures from the runs' summaries."""
    return store.latest_evaluations(get_spec(model_id).id)


def evaluations_by_model() -> dict[str, list[EvalFigure]]:
    """Every model's newest evaluation per dataset (newest first), in one read: the Registry's figures."""
    out: dict[str, list[EvalFigure]] = {}
    for f in store.latest_evaluations():
        out.setdefault(f.model_id, []).append(f)
    return out


def metrics_snapshot(model_id: str) -> dict:
    """The evidence kept with a transition: the evaluation and the regression report the gates read (ids and
    figures), not an average over ad-hoc runs."""
    evals = store.latest_evaluations(model_id)
    report = latest_regression(model_id)
    return {
        "evaluation": evals[0].to_json() if evals else None,
        "evaluations": [f.to_json() for f in evals],
        "regression": None if report is None else {
            "report_id": report.report_id, "passed": report.passed, "runs": report.runs,
            "created_at": report.created_at.isoformat(timespec="seconds") if report.created_at else None,
            "checks": [c.to_json() for c in report.checks if c.model == model_id]},
    }


def transition(model_id: str, target: str, reason: str, actor: str | None = None) -> list[Transition]:
    """Move a model, or raise TransitionError naming the rule. Returns the transitions recorded
    (two when a new production model displaces the previous one for the same task and language)."""
    spec = get_spec(model_id)
    if not reason or not reason.strip():
        raise TransitionError("[reason-required] a reason is required for every transition", ("reason-required",))
    refused = refusals(model_id, target)
    if refused:
        raise TransitionError(f"{model_id}: refused: " + "; ".join(f"[{r}] {why}" for r, why in refused),
                              tuple(r for r, _ in refused))
    actor = actor or _whoami()
    moves = []
    if target == "production":
        for other in _production_rivals(spec):
            moves.append(_move(other, "candidate", f"displaced by {spec.id}: {reason}", actor))
    moves.append(_move(spec.id, target, reason.strip(), actor))
    return store.record_transitions(moves)


def _production_rivals(spec: ModelSpec) -> list[str]:
    """Only one production model per task and language."""
    rivals = []
    for model_id in store.models_in_state("production"):
        other = catalog().get(model_id)
        if other and other.id != spec.id and set(other.tasks) & set(spec.tasks) \
                and set(other.languages) & set(spec.languages):
            rivals.append(other.id)
    return rivals


def _move(model_id: str, target: str, reason: str, actor: str) -> Transition:
    """A move to record; the store fills in the state it leaves."""
    return Transition(model_id=model_id, from_state=None, to_state=target, reason=reason, actor=actor,
                      metrics=metrics_snapshot(model_id))


def history(model_id: str | None = None, limit: int = 200) -> list[Transition]:
    """The append-only audit trail, newest first."""
    return store.transitions(model_id, limit)


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


ALIASES = ("production", "candidate")  # what a server may be asked for instead of a model id


def resolve_model(name: str, task: str, language: str | None = None) -> str:
    """A model id for `task`: `name` itself (checked to do the task), or the model in the state `name`
    (production/candidate) for the task and language (default en), a single-language model first."""
    if name not in ALIASES:
        spec = get_spec(name)
        if task not in spec.tasks:
            raise LabError(f"{spec.id} does not do {task}; its tasks: {', '.join(spec.tasks)}.")
        return spec.id
    lang = (language or "en").split("-")[0].lower()
    states = model_states()
    found = [s for s in catalog().values() if states.get(s.id, s.default_state) == name and task in s.tasks
             and (lang in s.languages or "multi" in s.languages)]
    if not found:
        raise NotFoundError(f"no {name} model for {task} in '{lang}'; promote one with `lab promote`.")
    return sorted(found, key=lambda s: "multi" in s.languages)[0].id
