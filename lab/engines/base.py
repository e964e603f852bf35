"""The one small protocol every runtime implements, and the values it returns.

An engine is built for one catalog entry on one device; `load()` acquires the weights (timed by
the loader, not here), `transcribe()` runs one clip, `describe()` says what it is. Engines time
their own inference with `time.perf_counter` around the model call only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

from lab.errors import OptionError

if TYPE_CHECKING:
    from lab.audio import AudioClip
    from lab.catalog import ModelSpec
    from lab.weights import Resolved


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float | None = None


@dataclass
class Transcription:
    """What an ASR engine returns for one clip."""

    text: str
    language: str | None = None
    segments: list[Segment] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    inference_s: float = 0.0
    # e.g. "truncated" when generation stopped at the token budget instead of an end token
    flags: list[str] = field(default_factory=list)
    language_probability: float | None = None  # the engine's confidence in `language`, where it gives one


@dataclass
class StreamStep:
    """What one fed chunk produced in a stream (`lab.streaming`): newly committed words (times from the
    stream's start) and the uncommitted tail."""

    committed: list[Word] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)


@dataclass
class Synthesis:
    """What a TTS engine returns: mono float32 samples at `sample_rate`, and how long it took."""

    samples: np.ndarray
    sample_rate: int
    inference_s: float = 0.0
    # time until the first audio chunk was ready, for engines that stream; None otherwise
    first_audio_s: float | None = None
    # "truncated": stopped at the token budget; "no_audio": the model produced no speech
    flags: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0

    @property
    def rtf(self) -> float | None:
        """Real-time factor: compute seconds per second of speech (lower is faster)."""
        return self.inference_s / self.duration_s if self.duration_s else None


@dataclass(frozen=True)
class ChatTurn:
    """One turn of a conversation; a user turn may hold text, audio or both."""

    role: Literal["user", "assistant"]
    text: str = ""
    audio: AudioClip | None = None


@dataclass
class ChatReply:
    """The assistant's answer: its text and the same answer spoken (empty samples if text only)."""

    text: str
    samples: np.ndarray
    sample_rate: int
    inference_s: float = 0.0
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AsrOptions:
    """Decoding settings, stored with every run. beam_size=1 is greedy decoding."""

    language: str | None = None
    beam_size: int = 5
    word_timestamps: bool = True
    # hard cap on generated tokens for engines that need one (LLM-style decoders)
    max_new_tokens: int | None = None
    # text said just before this audio (streaming passes what it has committed); engines that can, condition on it
    prompt: str | None = None

    def __post_init__(self) -> None:
        # refused here, in the core, so CLI, dashboard and API bound the work the same way
        # (beam 10000 took 6-8 GB and 11 minutes; beam 0 crashed inside the runtime)
        if not _is_int(self.beam_size) or not MIN_BEAM <= self.beam_size <= MAX_BEAM:
            raise OptionError(f"beam size must be a whole number from {MIN_BEAM} to {MAX_BEAM} "
                              f"(1 = greedy), not {self.beam_size!r}.")
        if self.max_new_tokens is not None and (not _is_int(self.max_new_tokens) or self.max_new_tokens < 1):
            raise OptionError(f"max new tokens must be a positive whole number, not {self.max_new_tokens!r}.")
        if self.language is not None:
            if not isinstance(self.language, str):
                raise OptionError(f"language must be a code such as 'en', not {self.language!r}.")
            from lab.languages import check_language  # reads the catalog: only when a language is given

            check_language(self.language)


MIN_BEAM, MAX_BEAM = 1, 10


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True)
class LoadConfig:
    """Where and how a model is loaded; part of the cache key."""

    device: str
    compute_type: str
    threads: int


@runtime_checkable
class TtsEngine(Protocol):
    spec: ModelSpec
    config: LoadConfig

    def load(self) -> None: ...

    def voices(self) -> list[str]: ...

    def synthesize(self, text: str, voice: str | None = None) -> Synthesis: ...

    def describe(self) -> dict: ...

    def memory_bytes(self) -> int: ...


@runtime_checkable
class AsrEngine(Protocol):
    spec: ModelSpec
    config: LoadConfig

    def load(self) -> None: ...

    def transcribe(self, clip: AudioClip, options: AsrOptions) -> Transcription: ...

    def describe(self) -> dict: ...

    def memory_bytes(self) -> int: ...


class BaseEngine:
    """Shared plumbing: holds spec, config and resolved weights; subclasses do the model work."""

    # devices this runtime can use; others fall back to CPU
    devices: tuple[str, ...] = ("cpu",)
    # compute type used when the caller leaves it to the engine, per device
    default_compute: dict[str, str] = {"cpu": "float32", "cuda": "float16", "mps": "float32"}
    # compute types it really runs in, per device (None: the runtime checks them itself at load), so a
    # result is never labelled with a precision the runtime silently replaced
    compute_types: dict[str, tuple[str, ...]] | None = None

    def __init__(self, spec: ModelSpec, config: LoadConfig, weights: Resolved) -> None:
        self.spec = spec
        self.config = config
        self.weights = weights

    def load(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def transcribe(self, clip: AudioClip, options: AsrOptions) -> Transcription:  # pragma: no cover
        raise NotImplementedError

    def memory_bytes(self) -> int:
        """Estimated resident size of the loaded weights (for the cache's memory budget)."""
        params = self.spec.parameters or 0
        width = 2 if self.config.compute_type in ("float16", "bfloat16", "int8_float16") else 4
        if self.config.compute_type.startswith("int8"):
            width = 1
        return params * width

    def describe(self) -> dict:
        return {
            "model": self.spec.id,
            "runtime": self.spec.runtime,
            "device": self.config.device,
            "compute_type": self.config.compute_type,
            "threads": self.config.threads,
            "weights_source": self.weights.source,
            "weights_path": str(self.weights.path) if self.weights.path else None,
        }


def language_for(spec: ModelSpec, options: AsrOptions) -> str | None:
    """English-only checkpoints must be told 'en'; others auto-detect unless a language is set."""
    return "en" if spec.english_only else options.language
