"""CMU PocketSphinx engine: a classic HMM/GMM recogniser, the pre-neural baseline."""

from __future__ import annotations

import time

import numpy as np

from lab.audio import AudioClip
from lab.engines.base import AsrOptions, BaseEngine, Segment, StreamStep, Transcription, Word

FRAME_RATE = 100  # pocketsphinx reports segments in 10 ms frames
PAUSE_S = 0.3  # a silence at least this long between words starts a new segment
FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "[BREATH]", "[COUGH]", "[UH]", "[UM]"}


class PocketSphinxEngine(BaseEngine):
    default_compute = {"cpu": "float32"}
    compute_types = {"cpu": ("float32",)}

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

    def open_stream(self, options: AsrOptions) -> SphinxStream:
        """Native incremental decoding (see `lab.streaming`)."""
        self.decoder.reinit_feat()  # a stream starts cold, as a new live session would
        return SphinxStream(self.decoder)

    def transcribe(self, clip: AudioClip, options: AsrOptions) -> Transcription:
        pcm = (np.clip(clip.samples, -1, 1) * 32767).astype("<i2").tobytes()
        start = time.perf_counter()
        # feature state (the adaptive cepstral mean) starts afresh for every clip, so a result does not depend
        # on what the model heard before: a warm-up, an earlier clip, a stream, another worker's order
        self.decoder.reinit_feat()
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


class SphinxStream:
    """PocketSphinx's own incremental decoding: its endpointer opens and closes utterances, `hyp()`
    gives the partial text while one is open, and an utterance's words are committed when it closes."""

    def __init__(self, decoder, rate: int = 16000) -> None:  # noqa: ANN001 - pocketsphinx.Decoder
        from pocketsphinx import Endpointer

        self.decoder, self.rate = decoder, rate
        self.endpointer = Endpointer(sample_rate=rate)
        self.pending = b""
        self.in_utt = False

    def feed(self, samples: np.ndarray) -> StreamStep:
        self.pending += (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
        size, committed = self.endpointer.frame_bytes, []
        while len(self.pending) >= size:
            frame, self.pending = self.pending[:size], self.pending[size:]
            committed += self._frame(self.endpointer.process(frame))
        return StreamStep(committed, self._partial())

    def finish(self) -> StreamStep:
        committed = []
        speech = self.endpointer.end_stream(self.pending) if self.in_utt or self.pending else None
        if speech is not None:
            if not self.in_utt:
                self._start()
            self.decoder.process_raw(speech, False, False)
        if self.in_utt:
            committed = self._end()
        return StreamStep(committed, [])

    def _frame(self, speech: bytes | None) -> list[Word]:
        if speech is None:
            return []
        if not self.in_utt:
            self._start()
        self.decoder.process_raw(speech, False, False)
        return [] if self.endpointer.in_speech else self._end()

    def _start(self) -> None:
        self.decoder.start_utt()
        self.in_utt, self.utt_start = True, self.endpointer.speech_start

    def _end(self) -> list[Word]:
        self.decoder.end_utt()
        self.in_utt = False
        return [Word(self.utt_start + s.start_frame / FRAME_RATE, self.utt_start + (s.end_frame + 1) / FRAME_RATE,
                     _clean(s.word)) for s in self.decoder.seg() if s.word not in FILLERS]

    def _partial(self) -> list[str]:
        hyp = self.decoder.hyp() if self.in_utt else None
        return [_clean(w) for w in hyp.hypstr.split()] if hyp and hyp.hypstr else []
