"""CMU PocketSphinx engine: a classic HMM/GMM recogniser, the pre-neural baseline."""

from __future__ import annotations

import time

import numpy as np

from lab.audio import AudioClip
from lab.engines.base import AsrOptions, BaseEngine, Segment, Transcription, Word

FRAME_RATE = 100  # pocketsphinx reports segments in 10 ms frames
FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "[BREATH]", "[COUGH]", "[UH]", "[UM]"}


class PocketSphinxEngine(BaseEngine):
    default_compute = {"cpu": "float32"}

    def load(self) -> None:
        from pocketsphinx import Config, Decoder

        # the pack's en-us folder holds the acoustic model (en-us/), the LM and the dictionary
        root = self.weights.path
        config = Config(
            hmm=str(root / "en-us"),
            lm=str(root / "en-us.lm.bin"),
            dict=str(root / "cmudict-en-us.dict"),
            samprate=16000,
            loglevel="FATAL",
        )
        self.decoder = Decoder(config)

    def memory_bytes(self) -> int:
        return 60 << 20  # acoustic model + LM + dictionary, measured roughly at load

    def transcribe(self, clip: AudioClip, options: AsrOptions) -> Transcription:
        pcm = (np.clip(clip.samples, -1, 1) * 32767).astype("<i2").tobytes()
        start = time.perf_counter()
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, no_search=False, full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        segs = list(self.decoder.seg())
        elapsed = time.perf_counter() - start
        words = [
            Word(s.start_frame / FRAME_RATE, (s.end_frame + 1) / FRAME_RATE, _clean(s.word), None)
            for s in segs
            if s.word not in FILLERS
        ]
        text = " ".join(w.word for w in words) if words else (hyp.hypstr if hyp else "")
        segments = [Segment(words[0].start, words[-1].end, text)] if words else []
        return Transcription(text=text, language="en", segments=segments, words=words, inference_s=elapsed)


def _clean(word: str) -> str:
    # alternate pronunciations come back as "word(2)"
    return word.split("(", 1)[0]
