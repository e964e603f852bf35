"""Voice activity detectors as models of task `vad`: Silero VAD (a small neural net, CPU) and WebRTC VAD (GMM).

Both answer `detect(clip) -> list[Segment]` (text "speech"), the speech regions in seconds."""

from __future__ import annotations

import time

import numpy as np

from lab.audio import AudioClip
from lab.engines.base import BaseEngine, Segment

WEBRTC_FRAME_S = 0.03
WEBRTC_MIN_SPEECH_S = 0.1  # shorter runs of voiced frames are clicks, not speech
WEBRTC_MERGE_S = 0.3  # gaps shorter than this inside speech are kept as speech


class SileroVadEngine(BaseEngine):
    def load(self) -> None:
        from silero_vad import load_silero_vad

        self.model = load_silero_vad(onnx=False)  # the JIT weights shipped in the package

    def memory_bytes(self) -> int:
        return 2 << 20

    def detect(self, clip: AudioClip) -> list[Segment]:
        import torch
        from silero_vad import get_speech_timestamps

        torch.set_num_threads(self.config.threads)
        self.last_s = time.perf_counter()
        spans = get_speech_timestamps(torch.from_numpy(clip.samples.astype(np.float32)), self.model,
                                      sampling_rate=clip.sample_rate, return_seconds=True)
        self.last_s = time.perf_counter() - self.last_s
        return [Segment(float(s["start"]), float(s["end"]), "speech") for s in spans]


class WebRtcVadEngine(BaseEngine):
    aggressiveness = 2  # 0 (keeps most) … 3 (drops most); the name's ":2"

    def load(self) -> None:
        import webrtcvad

        self.mode = int(self.spec.name) if self.spec.name.isdigit() else self.aggressiveness
        self.vad = webrtcvad.Vad(self.mode)

    def memory_bytes(self) -> int:
        return 1 << 20

    def detect(self, clip: AudioClip) -> list[Segment]:
        import webrtcvad

        start = time.perf_counter()
        # a fresh detector per clip: webrtcvad adapts its noise model as it goes, so reusing one made the
        # same clip's segments depend on what it heard before
        self.vad = webrtcvad.Vad(self.mode)
        n = int(WEBRTC_FRAME_S * clip.sample_rate)
        pcm = (np.clip(clip.samples, -1, 1) * 32767).astype("<i2")
        voiced = [self.vad.is_speech(pcm[i:i + n].tobytes(), clip.sample_rate)
                  for i in range(0, len(pcm) - n + 1, n)]
        self.last_s = time.perf_counter() - start
        return _runs(voiced, WEBRTC_FRAME_S)


def _runs(voiced: list[bool], frame_s: float) -> list[Segment]:
    spans: list[list[float]] = []
    for i, v in enumerate(voiced):
        if not v:
            continue
        t = i * frame_s
        if spans and t - spans[-1][1] < WEBRTC_MERGE_S:
            spans[-1][1] = t + frame_s
        else:
            spans.append([t, t + frame_s])
    return [Segment(a, b, "speech") for a, b in spans if b - a >= WEBRTC_MIN_SPEECH_S]
