"""whisper.cpp (ggml, C++) through pywhispercpp, on weights converted from the CTranslate2 packs.

The compute type picks the ggml file: float16 (whisper.cpp's usual files) or q8_0 (8-bit blocks, its
quantised CPU setting); a converted folder holds both. "float32" also loads the float16 file: the
PyPI build aborts on a float32 file, and the packs' weights are float16, so the values are the same
as the other runtimes' float32 upcast (whisper.cpp's matrix products may still round differently).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from lab.audio import AudioClip
from lab.engines.base import AsrOptions, BaseEngine, Segment, Transcription, language_for
from lab.errors import EngineError

PRECISIONS = ("float32", "float16", "q8_0")
# compute type → the ggml file it loads (see the module docstring for float32)
FILE_PRECISION = {"float32": "float16", "float16": "float16", "q8_0": "q8_0"}
# whisper.cpp's own names for the files it publishes, by precision
HUB_SUFFIX = {"float16": "", "q8_0": "-q8_0"}


class WhisperCppEngine(BaseEngine):
    # the PyPI wheel is built for the CPU only
    devices = ("cpu",)
    default_compute = {"cpu": "float16"}

    def load(self) -> None:
        from pywhispercpp.model import Model

        if self.config.compute_type not in PRECISIONS:
            raise EngineError(f"{self.spec.id}: compute type '{self.config.compute_type}' is not one of "
                              f"{', '.join(PRECISIONS)}.")
        self.model_file = self._model_file()
        # print_progress off: it writes to stdout, which `lab ... --json` keeps for its answer
        self.model = Model(str(self.model_file), redirect_whispercpp_logs_to=None, n_threads=self.config.threads,
                           print_progress=False, print_realtime=False)

    def _model_file(self) -> Path:
        precision = FILE_PRECISION[self.config.compute_type]
        if self.weights.source == "hub":
            from huggingface_hub import hf_hub_download

            if precision not in HUB_SUFFIX:
                raise EngineError(f"{self.spec.id}: whisper.cpp publishes no {precision} file; use float16 or q8_0.")
            return Path(hf_hub_download(self.weights.hub_id, f"ggml-{self.spec.name}{HUB_SUFFIX[precision]}.bin"))
        from lab.weights.convert import ggml_file

        if self.weights.source == "convert":
            from lab.weights import ensure_for

            return ggml_file(ensure_for(self.spec, self.weights), precision)
        if self.weights.path is None:
            raise EngineError(f"{self.spec.id}: resolved weights have no path ({self.weights.describe()}).")
        path = Path(self.weights.path)
        found = path if path.is_file() else ggml_file(path, precision)
        if not found.is_file():
            raise EngineError(f"{self.spec.id}: no {precision} ggml file at {found}.")
        return found

    def transcribe(self, clip: AudioClip, options: AsrOptions) -> Transcription:
        # pywhispercpp fixes the search at construction; its params object carries it, so switch it there
        self.model._params.strategy = self._strategy(options.beam_size)
        search = ({"beam_search": {"beam_size": options.beam_size, "patience": -1.0}} if options.beam_size > 1
                  else {"greedy": {"best_of": 1}})
        language = language_for(self.spec, options) or "auto"
        start = time.perf_counter()
        segs = self.model.transcribe(
            np.ascontiguousarray(clip.samples, np.float32),
            language=language,
            temperature=0.0,
            temperature_inc=0.0,  # no fallback to sampling: the same greedy search as the other runtimes
            no_context=True,
            token_timestamps=False,
            **search,
        )
        elapsed = time.perf_counter() - start
        detected = self._detected_language() if language == "auto" else language
        return Transcription(
            text=" ".join(s.text.strip() for s in segs).strip(),
            language=detected,
            # whisper.cpp reports times in centiseconds
            segments=[Segment(s.t0 / 100, s.t1 / 100, s.text.strip()) for s in segs],
            inference_s=elapsed,
        )

    def _strategy(self, beam_size: int) -> object:
        import _pywhispercpp as pw

        kind = pw.whisper_sampling_strategy
        return kind.WHISPER_SAMPLING_BEAM_SEARCH if beam_size > 1 else kind.WHISPER_SAMPLING_GREEDY

    def _detected_language(self) -> str | None:
        import _pywhispercpp as pw

        lang_id = pw.whisper_full_lang_id(self.model._ctx)
        return pw.whisper_lang_str(lang_id) if lang_id >= 0 else None

    def memory_bytes(self) -> int:
        model_file = getattr(self, "model_file", None)
        return os.path.getsize(model_file) if model_file else super().memory_bytes()

    def describe(self) -> dict:
        precision = FILE_PRECISION.get(self.config.compute_type, self.config.compute_type)
        return {**super().describe(), "ggml_file": str(getattr(self, "model_file", "")) or None,
                "weights_precision": precision}
