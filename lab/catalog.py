"""The model catalog: what models exist, what they do, and where their weights come from."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from lab.errors import UnknownModelError

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
STATES = ("experimental", "candidate", "production", "deprecated")


@dataclass(frozen=True)
class WeightsSource:
    hub: str | None = None
    pack: str | None = None
    convert_from: str | None = None
    path: str | None = None  # an explicit local directory or file


@dataclass(frozen=True)
class ModelSpec:
    id: str
    display_name: str
    tasks: tuple[str, ...]
    languages: tuple[str, ...]
    parameters: int | None
    license: str
    weights: WeightsSource = field(default_factory=WeightsSource)
    default_state: str = "experimental"
    options: dict = field(default_factory=dict, hash=False)

    @property
    def runtime(self) -> str:
        return self.id.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split(":", 1)[1]

    @property
    def english_only(self) -> bool:
        return tuple(self.languages) == ("en",)


def _spec(entry: dict) -> ModelSpec:
    return ModelSpec(
        id=entry["id"],
        display_name=entry.get("display_name", entry["id"]),
        tasks=tuple(entry.get("tasks", ["asr"])),
        languages=tuple(entry.get("languages", ["en"])),
        parameters=entry.get("parameters"),
        license=entry.get("license", "unknown"),
        weights=WeightsSource(**entry.get("weights", {})),
        default_state=entry.get("default_state", "experimental"),
        options=dict(entry.get("options", {})),
    )


@cache
def catalog() -> dict[str, ModelSpec]:
    """All catalog entries by id, in file order."""
    entries = yaml.safe_load(CATALOG_PATH.read_text())["models"]
    specs = [_spec(e) for e in entries]
    bad = [s.id for s in specs if s.default_state not in STATES or ":" not in s.id]
    if bad:
        raise ValueError(f"catalog.yaml: bad id or default_state for {bad}")
    return {s.id: s for s in specs}


def get_spec(model_id: str) -> ModelSpec:
    try:
        return catalog()[model_id]
    except KeyError:
        known = ", ".join(catalog())
        raise UnknownModelError(f"unknown model id '{model_id}'. Known ids: {known}.") from None


def models_for(task: str) -> list[ModelSpec]:
    return [s for s in catalog().values() if task in s.tasks]
