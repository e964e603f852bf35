"""Model weights: where they are found (`resolution`), where they live on disk (`paths`), the pip
offline packs (`packs`) and the CTranslate2 → PyTorch conversion (`convert`).

Imports run one way only: paths ← packs, paths ← convert, and resolution uses all three.
"""

from lab.weights.convert import ConversionError
from lab.weights.packs import PACKS
from lab.weights.paths import MARKER, cache_dir, holds_weights
from lab.weights.resolution import DEFAULT_HUB_PROBE, HubProbe, Resolved, ensure_for, missing_hint, resolve

__all__ = [
    "DEFAULT_HUB_PROBE", "MARKER", "PACKS", "ConversionError", "HubProbe", "Resolved",
    "cache_dir", "ensure_for", "holds_weights", "missing_hint", "resolve",
]
