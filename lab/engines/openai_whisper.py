"""openai-whisper (reference PyTorch implementation) engine."""

from __future__ import annotations

import time
from pathlib import Path

from lab.audio import AudioClip
from lab.engines.base import AsrOptions, BaseEngine, Segment, Transcription, Word, language_for
from lab.errors import EngineError


class OpenAIWhisperEngine(BaseEngine):
    devices = ("cuda", "cpu")
    default_compute = {"cpu": "float32", "cuda": "float16"}
    compute_types = {"cpu": ("float32",), "cuda": ("float16", "float32")}

    def load(self) -> None:
        import torch
        import whisper

        torch.set_num_threads(self.config.threads)
        if self.weights.source == "hub":  # a named checkpoint: whisper downloads it
            self.model = whisper.load_model(self.weights.hub_id, device=self.config.device)
            return
        checkpoint = checkpoint_file(self._local_weights())
        self.model = whisper.load_model(str(checkpoint), device=self.config.device)
        self._set_alignment_heads(checkpoint)

    def _local_weights(self) -> Path:
        if self.weights.source == "convert":
            from lab.weights import ensure_for

            return ensure_for(self.spec, self.weights)
        if self.weights.path is None:
            raise EngineError(f"{self.spec.id}: resolved weights have no path ({self.weights.describe()}).")
        return self.weights.path

    def _set_alignment_heads(self, checkpoint: Path) -> None:
        # word timestamps use these heads; a converted checkpoint records them beside model.pt
        from lab.weights.convert import openai_alignment_heads

        dump = openai_alignment_heads(checkpoint)
        if dump is not None:
            self.model.set_alignment_heads(dump)

    def memory_bytes(self) -> int:
        model = getattr(self, "model", None)
        if model is None:
            return super().memory_bytes()
        return sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))

    def transcribe(self, clip: AudioClip, options: AsrOptions) -> Transcription:
        start = time.perf_counter()
        language, probability = language_for(self.spec, options), None
        if language is None:  # detect here, as transcribe() would, so its probability is not thrown away
            language, probability = self._detect_language(clip)
        result = self.model.transcribe(
            clip.samples,
            language=language,
            # whisper decodes greedily when beam_size is None
            beam_size=options.beam_size if options.beam_size > 1 else None,
            temperature=0.0,
            word_timestamps=options.word_timestamps,
            condition_on_previous_text=False,
            fp16=self.config.compute_type == "float16",
            verbose=None,
        )
        elapsed = time.perf_counter() - start
        segs = result["segments"]
        words = [
            Word(float(w["start"]), float(w["end"]), w["word"], _float(w.get("probability")))
            for s in segs
            for w in s.get("words", [])
        ]
        return Transcription(
            text=" ".join(s["text"].strip() for s in segs).strip(),
            language=result.get("language"),
            language_probability=probability,
            segments=[Segment(float(s["start"]), float(s["end"]), s["text"].strip()) for s in segs],
            words=words,
            inference_s=elapsed,
        )


    def _detect_language(self, clip: AudioClip) -> tuple[str, float]:
        """Language of the first 30 s and its probability (whisper.transcribe decides on the same window)."""
        import torch
        import whisper

        mel = whisper.log_mel_spectrogram(clip.samples, self.model.dims.n_mels, padding=whisper.audio.N_SAMPLES)
        window = whisper.pad_or_trim(mel[:, : whisper.audio.N_FRAMES], whisper.audio.N_FRAMES)
        window = window.to(self.model.device, torch.float16 if self.config.device == "cuda" else torch.float32)
        _, probs = self.model.detect_language(window)
        language = max(probs, key=probs.get)
        return language, float(probs[language])


def _float(value: float | None) -> float | None:
    # whisper hands back numpy scalars; plain floats serialise anywhere
    return None if value is None else float(value)


def checkpoint_file(path: Path) -> Path:
    """A `.pt` file as given, or the checkpoint inside a weights directory (model.pt preferred)."""
    if path.is_file():
        return path
    preferred = path / "model.pt"
    if preferred.is_file():
        return preferred
    found = sorted(path.glob("*.pt"))
    if not found:
        raise FileNotFoundError(f"{path}: no openai-whisper .pt checkpoint here")
    return found[0]
