"""Piper (PyPI piper-tts): VITS voices exported to ONNX, phonemized by its bundled espeak-ng.

piper-tts is GPL-3.0, so it stays an optional extra: this module never imports it at module level,
and a missing install is reported as unavailable with the pip command. A voice is a folder (or
file) holding `<name>.onnx` and `<name>.onnx.json`; the catalog name is the voice name, e.g.
en_US-joe-medium.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lab.engines.base import BaseEngine, Synthesis
from lab.errors import EngineError, ModelUnavailableError

if TYPE_CHECKING:
    from piper import PiperVoice

PIP_HINT = "pip install piper-tts (GPL-3.0, the optional extra model-lab[piper])"
# Measured for en_US-joe-medium (63 MB file): resident memory grows ~100 MB on load, the weights
# plus onnxruntime's arena and espeak-ng's data.
OVERHEAD_BYTES = 40 << 20


class PiperEngine(BaseEngine):
    # CPU only: the venv's onnxruntime has no CUDA provider, and Piper voices run well past real time on CPU
    devices = ("cpu",)
    # the published voices are float32 ONNX; the precision is fixed by the file
    default_compute = {"cpu": "float32"}

    def load(self) -> None:
        try:
            import onnxruntime as ort
            from piper import PiperConfig, PiperVoice
        except ImportError as e:
            raise ModelUnavailableError(f"{self.spec.id}: the piper runtime is not installed; {PIP_HINT}.") from e

        model, config = self._files()
        raw = self._config_dict(config)
        options = ort.SessionOptions()
        # PiperVoice.load() builds a default session (all cores); build it here to honour config.threads
        options.intra_op_num_threads = options.inter_op_num_threads = self.config.threads
        options.log_severity_level = 3
        try:
            self.voice: PiperVoice = PiperVoice(
                session=ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"]),
                config=PiperConfig.from_dict(raw),
            )
        except Exception as e:  # onnxruntime raises its own exception types for a bad file
            raise EngineError(f"{self.spec.id}: could not load the Piper voice {model}: {e}") from e
        self.model_path = model
        self._speaker_ids = speakers(raw, self.spec.name)
        # warm up: espeak-ng is initialized lazily and onnxruntime's first run is slow
        self.synthesize("Warm up.")

    def _files(self) -> tuple[Path, Path]:
        """The voice's .onnx and .onnx.json: named after the catalog entry, else the folder's only voice."""
        root = self.weights.path
        if root is None:
            raise EngineError(f"{self.spec.id}: no local voice files ({self.weights.describe()}).")
        root = Path(root)
        if root.is_file():
            model = root
        elif (root / f"{self.spec.name}.onnx").is_file():
            model = root / f"{self.spec.name}.onnx"
        else:
            found = sorted(root.glob("*.onnx"))
            if len(found) != 1:
                raise EngineError(f"{self.spec.id}: expected {self.spec.name}.onnx (or a single .onnx) in {root}.")
            model = found[0]
        config = model.with_name(model.name + ".json")
        if not config.is_file():
            raise EngineError(f"{self.spec.id}: {model.name} has no config beside it ({config.name}).")
        return model, config

    def _config_dict(self, path: Path) -> dict:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise EngineError(f"{self.spec.id}: cannot read the voice config {path}: {e}") from e

    def _speakers(self) -> dict[str, int | None]:
        """Speaker name → id (None for a single-speaker voice)."""
        if not hasattr(self, "_speaker_ids"):
            self._speaker_ids = speakers(self._config_dict(self._files()[1]), self.spec.name)
        return self._speaker_ids

    def voices(self) -> list[str]:
        return list(self._speakers())

    def synthesize(self, text: str, voice: str | None = None, *, speed: float = 1.0) -> Synthesis:
        """Speak `text`; times phonemization and synthesis of every sentence."""
        from piper import SynthesisConfig

        if not hasattr(self, "voice"):
            raise EngineError(f"{self.spec.id}: load() the engine before synthesizing.")
        speakers = self._speakers()
        voice = voice or next(iter(speakers))
        if voice not in speakers:
            raise EngineError(f"{self.spec.id}: unknown voice '{voice}'; choose one of {', '.join(speakers)}.")
        if not text.strip():
            raise EngineError(f"{self.spec.id}: nothing to say (empty text).")
        if not 0.5 <= speed <= 2.0:
            raise EngineError(f"{self.spec.id}: speed must be between 0.5 and 2.0, not {speed}.")
        syn = SynthesisConfig(speaker_id=speakers[voice], length_scale=self.voice.config.length_scale / speed)
        parts: list[np.ndarray] = []
        first: float | None = None
        start = time.perf_counter()
        # synthesize() yields one AudioChunk per sentence as soon as it is ready: the first is first_audio_s
        for chunk in self.voice.synthesize(text, syn_config=syn):
            if first is None and chunk.audio_float_array.size:
                first = time.perf_counter() - start
            parts.append(chunk.audio_float_array)
        elapsed = time.perf_counter() - start
        samples = np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)
        return Synthesis(samples, self.voice.config.sample_rate, inference_s=elapsed, first_audio_s=first,
                         flags=[] if samples.size else ["no_audio"])

    def memory_bytes(self) -> int:
        path = getattr(self, "model_path", None)
        if path is None:
            return super().memory_bytes() + OVERHEAD_BYTES
        return path.stat().st_size + OVERHEAD_BYTES

    def describe(self) -> dict:
        info = {**super().describe(), "voices": self.voices(), "weights_precision": "float32 (fixed by the voice file)"}
        if hasattr(self, "voice"):
            info["sample_rate"] = self.voice.config.sample_rate
            info["espeak_voice"] = self.voice.config.espeak_voice
        return info


def speakers(config: dict, voice_name: str) -> dict[str, int | None]:
    """A multi-speaker voice's speaker_id_map, else its one speaker named after the dataset
    ("joe" for en_US-joe-medium), with no id: Piper must not be sent a speaker id then."""
    names = config.get("speaker_id_map") or {}
    if names:
        return {str(k): int(v) for k, v in names.items()}
    parts = voice_name.split("-")
    return {config.get("dataset") or (parts[1] if len(parts) == 3 else voice_name): None}
