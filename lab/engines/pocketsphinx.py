"""CMU PocketSphinx engine: a classic HMM/GMM recogniser, the pre-neural baseline."""

from __future__ import annotations

import time

import numpy as np

from lab.audio import AudioClip
from lab.engines.base import AsrOptions, BaseEngine, Segment, Transcription, Word

FRAME_RATE = 100  # pocketsphinx reports segments in 10 ms frames
PAUSE_S = 0.3  # a silence at least this long between words starts a new segment
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
        return Transcription(text=text, language="en", segments=_segments(words), words=words, inference_s=elapsed)


def _segments(words: list[Word], pause_s: float = PAUSE_S) -> list[Segment]:
    """Phrases split at pauses, like Whisper's segments, so the waveform view can compare them."""
    out: list[list[Word]] = []
    for w in words:
        if out and w.start - out[-1][-1].end < pause_s:
            out[-1].append(w)
        else:
            out.append([w])
    return [Segment(g[0].start, g[-1].end, " ".join(w.word for w in g)) for g in out]


def _clean(word: str) -> str:
    # alternate pronunciations come back as "word(2)"
    return word.split("(", 1)[0]
