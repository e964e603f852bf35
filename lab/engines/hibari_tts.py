"""hibari (PyPI hibari-tts): a 6M-parameter English TTS distilled from Kokoro-82M, ONNX on CPU, 24 kHz.

Each voice is a whole model file (int8 weights) and picks the G2P variant (American or British).
Only "heart" ships in the wheel; hibari downloads the others from Hugging Face on first use, which
this lab never lets it do: a voice is usable when its file is in the resolved weights folder or
already in hibari's own cache (HIBARI_HOME or ~/.cache/hibari).

hibari is imported inside methods: the registry imports this module to check availability.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lab.engines.base import BaseEngine, Synthesis
from lab.errors import EngineError

if TYPE_CHECKING:
    from hibari import Hibari

SAMPLE_RATE = 24_000
DEFAULT_VOICE = "heart"
# Measured: resident memory grows ~190 MB on load, nearly all of it the G2P lexicons held as
# Python dicts (one set per accent); each voice's ONNX session adds about its file size.
G2P_BYTES = 180 << 20


class HibariEngine(BaseEngine):
    # hibari hard-codes onnxruntime's CPU provider
    devices = ("cpu",)
    # the voice files are int8-quantized; the precision is fixed by the file, not chosen at load
    default_compute = {"cpu": "int8"}

    def load(self) -> None:
        import hibari  # noqa: F401  (fail here, not mid-synthesis, when the package is broken)

        self._models: dict[str, Hibari] = {}
        installed = self.voices()
        if not installed:
            raise EngineError(f"{self.spec.id}: no hibari voice file found here; pip install hibari-tts.")
        self.default_voice = DEFAULT_VOICE if DEFAULT_VOICE in installed else installed[0]
        # warm up: the G2P loads its lexicons lazily and onnxruntime's first run is slow
        self.synthesize("Warm up.", self.default_voice)

    def voices(self) -> list[str]:
        """Voices whose model file is on this machine (hibari knows more; see `_voice_file`)."""
        from hibari.voices import VOICES

        return [name for name in VOICES if self._voice_file(name) is not None]

    def _voice_file(self, name: str) -> Path | None:
        from hibari.voices import VOICES, voice_path

        file = VOICES[name]["file"]
        if self.weights.path is not None and (Path(self.weights.path) / file).is_file():
            return Path(self.weights.path) / file
        try:
            # download_missing=False: the bundled file or hibari's cache, never the network
            return Path(voice_path(name, download_missing=False))
        except FileNotFoundError:
            return None

    def _model(self, voice: str) -> Hibari:
        from hibari import Hibari
        from hibari.voices import VOICES

        if not hasattr(self, "_models"):
            raise EngineError(f"{self.spec.id}: load() the engine before synthesizing.")
        if voice in self._models:
            return self._models[voice]
        path = self._voice_file(voice)
        if path is None:
            where = self.weights.path or "hibari's cache (HIBARI_HOME or ~/.cache/hibari)"
            raise EngineError(
                f"{self.spec.id}: voice '{voice}' is not installed here (hibari would download it and this lab "
                f"stays offline); put {VOICES[voice]['file']} in {where}, or use one of {', '.join(self.voices())}."
            )
        # voices of one accent share a G2P (the lexicons are the expensive part)
        british = VOICES[voice]["british"]
        g2p = next((m.g2p for v, m in self._models.items() if VOICES[v]["british"] == british), None)
        try:
            model = Hibari(voice=voice, model=str(path), threads=self.config.threads, g2p=g2p)
        except Exception as e:  # onnxruntime raises its own exception types for a bad file
            raise EngineError(f"{self.spec.id}: could not load voice '{voice}' from {path}: {e}") from e
        self._models[voice] = model
        return model

    def synthesize(self, text: str, voice: str | None = None, *, speed: float = 1.0, seed: int | None = 0) -> Synthesis:
        """Speak `text`; times G2P and synthesis of every sentence, not loading the voice.

        seed fixes hibari's noise component so a stored run can be reproduced bit for bit.
        """
        from hibari.voices import VOICES

        voice = voice or getattr(self, "default_voice", DEFAULT_VOICE)
        if voice not in VOICES:
            raise EngineError(f"{self.spec.id}: unknown voice '{voice}'; choose one of {', '.join(self.voices())}.")
        if not text.strip():
            raise EngineError(f"{self.spec.id}: nothing to say (empty text).")
        if not 0.5 <= speed <= 2.0:
            raise EngineError(f"{self.spec.id}: speed must be between 0.5 and 2.0, not {speed}.")
        model = self._model(voice)
        parts: list[np.ndarray] = []
        first: float | None = None
        start = time.perf_counter()
        # stream() yields one array per sentence as soon as it is ready: the first is first_audio_s
        for chunk in model.stream(text, speed=speed, seed=seed):
            if first is None and chunk.size:
                first = time.perf_counter() - start
            parts.append(chunk)
        elapsed = time.perf_counter() - start
        samples = np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)
        return Synthesis(samples, SAMPLE_RATE, inference_s=elapsed, first_audio_s=first,
                         flags=[] if samples.size else ["no_audio"])

    def memory_bytes(self) -> int:
        from hibari.voices import VOICES

        models = getattr(self, "_models", {})
        if not models:
            return G2P_BYTES
        accents = {VOICES[v]["british"] for v in models}
        return G2P_BYTES * len(accents) + sum(os.path.getsize(m.model_path) for m in models.values())

    def describe(self) -> dict:
        return {**super().describe(), "voices": self.voices(), "sample_rate": SAMPLE_RATE,
                "weights_precision": "int8 (fixed by the voice file)"}
