"""faster-whisper (CTranslate2) engine."""

from __future__ import annotations

import time

from lab.audio import AudioClip
from lab.engines.base import AsrOptions, BaseEngine, Segment, Transcription, Word, language_for


class FasterWhisperEngine(BaseEngine):
    devices = ("cuda", "cpu")
    default_compute = {"cpu": "int8", "cuda": "float16"}

    def load(self) -> None:
        from faster_whisper import WhisperModel

        where = str(self.weights.path) if self.weights.path else self.weights.hub_id
        self.model = WhisperModel(
            where,
            device=self.config.device,
            compute_type=self.config.compute_type,
            cpu_threads=self.config.threads,
            num_workers=1,
        )

    def transcribe(self, clip: AudioClip, options: AsrOptions) -> Transcription:
        start = time.perf_counter()
        # transcribe() returns a lazy generator: decoding happens while we iterate, inside the timer
        segments, info = self.model.transcribe(
            clip.samples,
            language=language_for(self.spec, options),
            beam_size=options.beam_size,
            word_timestamps=options.word_timestamps,
            condition_on_previous_text=False,
            initial_prompt=options.prompt,
        )
        segs = list(segments)
        elapsed = time.perf_counter() - start
        words = [Word(w.start, w.end, w.word, w.probability) for s in segs for w in (s.words or [])]
        return Transcription(
            text=" ".join(s.text.strip() for s in segs).strip(),
            language=info.language,
            language_probability=info.language_probability,
            segments=[Segment(s.start, s.end, s.text.strip()) for s in segs],
            words=words,
            inference_s=elapsed,
        )
