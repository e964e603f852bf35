"""The model picker: catalog models with their lifecycle state and availability here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lab.catalog import catalog
from lab.engines import Availability

STATE_STYLE: dict[str, tuple[str, str]] = {  # state → (st.badge colour, icon)
    "experimental": ("violet", ":material/science:"),
    "candidate": ("orange", ":material/flag:"),
    "production": ("green", ":material/verified:"),
    "deprecated": ("gray", ":material/archive:"),
}


@dataclass(frozen=True)
class ModelOption:
    id: str
    display_name: str
    state: str
    available: bool
    hint: str | None
    parameters: int | None
    where: str | None  # weights source and path when available


def model_options(states: Mapping[str, str], availability: Iterable[Availability], task: str | None = "asr"
                  ) -> list[ModelOption]:
    """Catalog models (those doing `task`; all when None) in catalog order, with lifecycle state and availability."""
    avail = {a.model: a for a in availability}
    out = []
    for spec in catalog().values():
        if task is not None and task not in spec.tasks:
            continue
        a = avail.get(spec.id)
        ok = bool(a and a.available)
        where = f"{a.source}: {a.path}" if a and a.available else None
        hint = (a.hint if a else "availability unknown") if not ok else None
        out.append(ModelOption(spec.id, spec.display_name, states.get(spec.id, spec.default_state), ok, hint,
                               spec.parameters, where))
    return out


def short_hint(model_id: str, hint: str | None) -> str:
    """The gist of an availability hint ("weights not found here"); the full sentence goes in a tooltip."""
    text = (hint or "unavailable").removeprefix(f"{model_id}: ")
    return text.split(";", 1)[0].rstrip(".")
