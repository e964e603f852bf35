"""The settings a comparison runs with: like for like unless the user picks otherwise.

Runtimes have different defaults (faster-whisper int8 on CPU, the PyTorch runtimes float32), so a
side-by-side with defaults compares precisions, not runtimes. A plan gives every model one compute
type (float32 on CPU, float16 on CUDA: what every runtime here supports) and one beam size, and
lets the user add variants of one model with the syntax `MODEL@SETTING,SETTING`:

    faster-whisper:tiny.en@int8              compute type int8, the comparison's beam
    faster-whisper:tiny.en@float32,beam=1    float32, greedy decoding
    openai-whisper:tiny.en@beam=1            the comparison's compute type, greedy

A setting is a compute type (`int8`, `float16`, `compute=int8_float32`, ...) or `beam=N`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from lab.catalog import get_spec
from lab.errors import LabError
from lab.loading import detect_device, load_config

# the precision every runtime here runs on each device: the like-for-like default
COMMON_COMPUTE = {"cpu": "float32", "cuda": "float16", "mps": "float32"}
DEFAULT_BEAM = 5


class VariantError(LabError):
    """A model variant that cannot be read (`MODEL@SETTING,...`)."""


@dataclass(frozen=True)
class Variant:
    """One model as the user named it: its catalog id and the settings it pinned (None: the plan's)."""

    model: str
    compute_type: str | None = None
    beam_size: int | None = None

    @property
    def label(self) -> str:
        """The canonical `MODEL@...` text: the plain id when nothing is pinned."""
        parts = [p for p in (self.compute_type, f"beam={self.beam_size}" if self.beam_size else None) if p]
        return f"{self.model}@{','.join(parts)}" if parts else self.model


@dataclass(frozen=True)
class PlannedModel:
    """One card of a comparison: which model, at which settings, and what the user pinned."""

    label: str
    model: str
    device: str
    compute_type: str
    beam_size: int


def parse_variant(text: str) -> Variant:
    """`MODEL[@SETTING,...]` → Variant; an unknown model or an unreadable setting is a one-line LabError."""
    model, _, rest = text.strip().partition("@")
    get_spec(model)  # raises UnknownModelError with the catalog's hint
    compute, beam = None, None
    for raw in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = raw.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not eq:  # a bare setting is a compute type
            key, value = "compute", key
        if key in ("compute", "compute_type", "precision") and value:
            compute = value
        elif key in ("beam", "beam_size"):
            if not value.isdigit() or int(value) < 1:
                raise VariantError(f"{text}: beam must be a whole number of at least 1, not '{value}'.")
            beam = int(value)
        else:
            raise VariantError(f"{text}: unknown setting '{raw}' (use a compute type such as int8, or beam=N).")
    return Variant(model, compute, beam)


def plan_comparison(models: Sequence[str], compute_type: str | None = None, beam_size: int | None = None,
                    device: str | None = None) -> list[PlannedModel]:
    """The settings each model runs with: `compute_type`/`beam_size` for all (default: the device's
    common precision and beam 5), except what a variant pins. Repeated variants run once."""
    variants = list(dict.fromkeys(parse_variant(m) for m in models))
    return [_planned(v, compute_type, beam_size or DEFAULT_BEAM, device) for v in variants]


def _planned(v: Variant, compute_type: str | None, beam_size: int, device: str | None) -> PlannedModel:
    spec = get_spec(v.model)
    # the device this runtime will really use (a CPU-only runtime falls back), so its precision fits it
    dev = load_config(spec, device or detect_device(), None, 1).device
    ctype = v.compute_type or compute_type or COMMON_COMPUTE.get(dev, "float32")
    load_config(spec, dev, ctype, 1)  # a precision this runtime does not really run in is refused, not relabelled
    return PlannedModel(v.label, v.model, dev, ctype, v.beam_size or beam_size)


def plan_json(plan: Sequence[PlannedModel]) -> list[dict]:
    """The plan as stored with a run's settings."""
    return [asdict(p) for p in plan]
