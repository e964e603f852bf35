"""The model catalog: what models exist, what they do, and where their weights come from."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
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

    def speaks(self, language: str) -> bool:
        """Whether its catalog languages cover `language` (a base code such as 'ja'): 'multi' covers all."""
        return "multi" in self.languages or language in {x.split("-")[0].lower() for x in self.languages}

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


class Catalog(Mapping[str, ModelSpec]):
    """The models this process knows, by id in file order: catalog.yaml's entries, never changed, plus
    models added for a scope with `extra` (tests, experiments) that disappear when the scope ends."""

    def __init__(self, specs: Iterable[ModelSpec]) -> None:
        self._base = {s.id: s for s in specs}
        self._extra: dict[str, ModelSpec] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path = CATALOG_PATH) -> Catalog:
        specs = [_spec(e) for e in yaml.safe_load(path.read_text())["models"]]
        bad = [s.id for s in specs if s.default_state not in STATES or ":" not in s.id]
        if bad:
            raise ValueError(f"{path.name}: bad id or default_state for {bad}")
        return cls(specs)

    def _all(self) -> dict[str, ModelSpec]:
        return {**self._base, **self._extra} if self._extra else self._base

    def __getitem__(self, model_id: str) -> ModelSpec:
        return self._all()[model_id]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._all()))  # a snapshot: a scope may end while a caller iterates

    def __len__(self) -> int:
        return len(self._all())

    @contextmanager
    def extra(self, *specs: ModelSpec) -> Iterator[list[str]]:
        """These models are in the catalog inside the block (their ids are yielded), gone after it."""
        added = {s.id: s for s in specs}
        with self._lock:
            shadowed = {i: self._extra[i] for i in added if i in self._extra}
            self._extra = {**self._extra, **added}  # copy on write: readers never see a dict change
        try:
            yield list(added)
        finally:
            with self._lock:  # undo only this scope's ids, so overlapping scopes stay independent
                kept = {i: s for i, s in self._extra.items() if i not in added}
                self._extra = {**kept, **shadowed}


@cache
def catalog() -> Catalog:
    """The process's catalog (catalog.yaml, read once)."""
    return Catalog.from_file()


def extra_models(*specs: ModelSpec) -> AbstractContextManager[list[str]]:
    """`with extra_models(spec, ...):` adds models to the process's catalog for the block only."""
    return catalog().extra(*specs)


def get_spec(model_id: str) -> ModelSpec:
    try:
        return catalog()[model_id]
    except KeyError:
        known = ", ".join(catalog())
        raise UnknownModelError(f"unknown model id '{model_id}'. Known ids: {known}.") from None


def models_for(task: str) -> list[ModelSpec]:
    return [s for s in catalog().values() if task in s.tasks]
