"""Hugging Face transformers engine: Whisper and SeamlessM4T v2 checkpoints, chosen by config.model_type."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lab.audio import SAMPLE_RATE, AudioClip
from lab.engines.base import AsrOptions, BaseEngine, Segment, Transcription
from lab.errors import EngineError
from lab.languages import SEAMLESS_LANGS

if TYPE_CHECKING:
    import torch

# compute types with a torch equivalent; anything else (int8 variants, float32) loads as float32
DTYPES = {"float16": "float16", "bfloat16": "bfloat16"}
WHISPER_WINDOW_S = 30.0
# SeamlessM4T has no long-form decoding of its own: longer audio is cut into pieces at quiet spots
SEAMLESS_CHUNK_S = 30.0
SEAMLESS_SEARCH_S = 5.0
SEAMLESS_MAX_NEW_TOKENS = 256


@dataclass(frozen=True)
class Decoded:
    """One model's output for one clip, before timing is attached."""

    text: str
    language: str | None
    segments: list[Segment]
    truncated: bool
    language_probability: float | None = None


class TransformersEngine(BaseEngine):
    compute_types = {"cpu": ("float32", "bfloat16"), "cuda": ("float16", "bfloat16", "float32"),
                     "mps": ("float32", "float16")}
    devices = ("cuda", "mps", "cpu")

    def load(self) -> None:
        import torch
        from transformers import AutoConfig

        torch.set_num_threads(self.config.threads)
        where = self._location()
        self.model_type = AutoConfig.from_pretrained(where).model_type
        if self.model_type == "whisper":
            from transformers import WhisperForConditionalGeneration as Model
            from transformers import WhisperProcessor as Processor
        elif self.model_type == "seamless_m4t_v2":
            from transformers import AutoProcessor as Processor
            from transformers import SeamlessM4Tv2ForSpeechToText as Model
        else:
            raise EngineError(f"{self.spec.id}: transformers model type '{self.model_type}' is not supported.")
        self.processor = Processor.from_pretrained(where)
        self.model = Model.from_pretrained(where, dtype=self._dtype()).to(self.config.device).eval()

    def _location(self) -> str:
        if self.weights.source == "hub":
            return self.weights.hub_id
        if self.weights.source == "convert":
            from lab.weights import ensure_for

            return str(ensure_for(self.spec, self.weights))
        if self.weights.path is None:
            raise EngineError(f"{self.spec.id}: resolved weights have no path ({self.weights.describe()}).")
        return str(self.weights.path)

    def _dtype(self) -> torch.dtype:
        import torch

        return getattr(torch, DTYPES.get(self.config.compute_type, "float32"))

    def memory_bytes(self) -> int:
        model = getattr(self, "model", None)
        if model is None:
            return super().memory_bytes()
        return model.get_memory_footprint()

    def describe(self) -> dict:
        return super().describe() | {"model_type": getattr(self, "model_type", None)}

    def transcribe(self, clip: AudioClip, options: AsrOptions) -> Transcription:
        import torch

        decode = self._whisper if self.model_type == "whisper" else self._seamless
        start = time.perf_counter()
        with torch.inference_mode():
            out = decode(clip.samples, options)
        elapsed = time.perf_counter() - start
        return Transcription(
            text=out.text,
            language=out.language,
            language_probability=out.language_probability,
            segments=out.segments,
            inference_s=elapsed,
            flags=["truncated"] if out.truncated else [],
        )

    # --- Whisper ---------------------------------------------------------------------------------

    def _whisper(self, samples: np.ndarray, options: AsrOptions) -> Decoded:
        features = self._whisper_features(samples)
        kwargs: dict = {"num_beams": options.beam_size, "do_sample": False, "condition_on_prev_tokens": False}
        if options.max_new_tokens:
            kwargs["max_new_tokens"] = options.max_new_tokens
        language, probability = "en", None
        if getattr(self.model.generation_config, "is_multilingual", False):
            # English-only checkpoints refuse language/task; multilingual ones need the task named
            language = options.language
            if not language:
                language, probability = self._detect_language(features["input_features"])
            kwargs |= {"language": language, "task": "transcribe"}
        out = self.model.generate(**features, return_timestamps=True, return_segments=True, **kwargs)
        segments = out["segments"][0]
        tokenizer = self.processor.tokenizer
        return Decoded(
            text=_text(tokenizer, out["sequences"][0]),
            language=language,
            language_probability=probability,
            segments=[Segment(float(s["start"]), float(s["end"]), _text(tokenizer, s["tokens"])) for s in segments],
            truncated=_whisper_truncated(segments, self.model.generation_config.eos_token_id),
        )

    def _whisper_features(self, samples: np.ndarray) -> dict:
        extract = self.processor.feature_extractor
        if len(samples) <= WHISPER_WINDOW_S * SAMPLE_RATE:
            feats = extract(samples, sampling_rate=SAMPLE_RATE, return_tensors="pt")
        else:  # long-form: keep every frame; generate() then slides its 30 s window over them
            feats = extract(
                samples,
                sampling_rate=SAMPLE_RATE,
                return_tensors="pt",
                truncation=False,
                padding="longest",
                return_attention_mask=True,
            )
        return self._to_model(feats)

    def _to_model(self, feats: dict) -> dict:
        """Tensors onto the model's device; float features in the model's dtype."""
        return {
            k: v.to(self.config.device, self.model.dtype) if v.is_floating_point() else v.to(self.config.device)
            for k, v in feats.items()
        }

    def _detect_language(self, features: torch.Tensor) -> tuple[str, float]:
        """The language of the first 30 s and its probability (as `model.detect_language` decides it: the
        most likely language token after the start token; short clips were padded to a full window)."""
        import torch

        window = features[..., : self.processor.feature_extractor.nb_max_frames]
        gen = self.model.generation_config
        lang_ids = sorted(gen.lang_to_id.values())
        start = torch.full((window.shape[0], 1), gen.decoder_start_token_id, device=window.device)
        logits = self.model(input_features=window, decoder_input_ids=start).logits[0, -1]
        probs = logits[lang_ids].float().softmax(-1)
        best = int(probs.argmax())
        return self.processor.tokenizer.convert_ids_to_tokens(lang_ids[best]).strip("<|>"), float(probs[best])

    # --- SeamlessM4T v2 --------------------------------------------------------------------------

    def _seamless(self, samples: np.ndarray, options: AsrOptions) -> Decoded:
        tgt = seamless_language(options.language)
        eos = self.model.generation_config.eos_token_id
        segments, truncated = [], False
        for begin, end in quiet_split(samples, SEAMLESS_CHUNK_S, SEAMLESS_SEARCH_S):
            feats = self.processor(audio=samples[begin:end], sampling_rate=SAMPLE_RATE, return_tensors="pt")
            feats = self._to_model(dict(feats))
            tokens = self.model.generate(
                **feats,
                tgt_lang=tgt,
                num_beams=options.beam_size,
                do_sample=False,
                max_new_tokens=options.max_new_tokens or SEAMLESS_MAX_NEW_TOKENS,
            )[0]
            truncated |= int(tokens[-1]) != eos
            text = self.processor.tokenizer.decode(tokens, skip_special_tokens=True).strip()
            segments.append(Segment(begin / SAMPLE_RATE, end / SAMPLE_RATE, text))
        return Decoded(
            text=" ".join(s.text for s in segments if s.text),
            language=options.language or "en",
            segments=segments,
            truncated=truncated,
        )


def _text(tokenizer, tokens: torch.Tensor) -> str:
    return tokenizer.decode(tokens, skip_special_tokens=True).strip()


def _whisper_truncated(segments: list[dict], eos: int) -> bool:
    """True when a 30 s window's generation stopped at the token budget instead of an end token."""
    results = {id(s["result"]): s["result"] for s in segments if "result" in s}
    return any(len(r) and int(r[-1]) != eos for r in results.values())


def seamless_language(language: str | None) -> str:
    """SeamlessM4T's target-language code for an ISO 639-1 code (3-letter codes pass through)."""
    if not language:
        return "eng"
    code = language.lower().strip("_")
    if len(code) == 3:
        return code
    if code not in SEAMLESS_LANGS:
        raise EngineError(f"SeamlessM4T: no target-language code known for '{language}'; pass its 3-letter code.")
    return SEAMLESS_LANGS[code]


def quiet_split(samples: np.ndarray, max_s: float, search_s: float) -> list[tuple[int, int]]:
    """Cut audio into pieces of at most `max_s`, each ending at the quietest 100 ms of its last `search_s`."""
    limit, search, hop = int(max_s * SAMPLE_RATE), int(search_s * SAMPLE_RATE), SAMPLE_RATE // 10
    pieces, begin = [], 0
    while len(samples) - begin > limit:
        tail = samples[begin + limit - search : begin + limit]
        energy = np.square(tail[: len(tail) // hop * hop].reshape(-1, hop)).mean(axis=1)
        cut = begin + limit - search + int(np.argmin(energy)) * hop + hop // 2
        pieces.append((begin, cut))
        begin = cut
    pieces.append((begin, len(samples)))
    return pieces
