"""LFM2.5-Audio engine (Liquid AI's liquid-audio): ASR, TTS and speech chat from one model.

One LFM2 backbone reads text tokens and conformer-encoded audio and writes text tokens or audio
frames (8 codec codes each, turned into 24 kHz audio by the checkpoint's audio detokenizer). The
task is chosen by the system prompt. Generation runs through liquid-audio's own `ChatState` and
`generate_sequential` / `generate_interleaved`; this module adds what those leave to the caller:
explicit devices and dtypes, a token budget sized to the input, a check that every weight came
from the checkpoint, and workarounds for two liquid-audio 1.3.0 defects (see `patch_liquid_audio`
and `build_detokenizer`).

torch and liquid_audio are imported inside functions: the registry imports this module just to
check availability, and that should stay fast.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lab.audio import AudioClip
from lab.engines.base import (
    AsrOptions,
    BaseEngine,
    ChatReply,
    ChatTurn,
    Segment,
    Synthesis,
    Transcription,
    language_for,
)
from lab.errors import EngineError

if TYPE_CHECKING:
    import torch
    from liquid_audio import ChatState

OUTPUT_RATE = 24_000
IM_END = 7  # <|im_end|>: the token liquid-audio stops on
END_OF_AUDIO = 2048  # codec code marking the end of an audio segment; valid codes are 0..2047
ASR_PROMPT = "Perform ASR."
CHAT_PROMPT = "Respond with interleaved text and audio."
VOICES = {"us_male": "US male", "us_female": "US female", "uk_male": "UK male", "uk_female": "UK female"}
DEFAULT_VOICE = "us_female"
DTYPES = ("float32", "float16", "bfloat16")
# Checkpoint files in the order accelerate's load_checkpoint_in_model picks them.
WEIGHT_FILES = ("pytorch_model.bin", "model.safetensors")


@dataclass
class Generated:
    """What one generation call yielded, split by modality."""

    text_ids: list[int]
    frames: list[torch.Tensor]
    truncated: bool

    @property
    def flags(self) -> list[str]:
        return ["truncated"] if self.truncated else []


class LfmAudioEngine(BaseEngine):
    VOICES = tuple(VOICES)
    devices = ("cuda", "mps", "cpu")
    default_compute = {"cpu": "float32", "cuda": "bfloat16", "mps": "float32"}

    def load(self) -> None:
        import torch
        from liquid_audio import LFM2AudioModel, LFM2AudioProcessor
        from liquid_audio.utils import get_model_dir

        patch_liquid_audio()
        torch.set_num_threads(self.config.threads)
        self.dtype = torch_dtype(self.config.compute_type)
        source = self._source()
        device = self.config.device
        try:
            # both default to cuda, and the model to bfloat16, which is slow or missing on CPU
            self.processor = LFM2AudioProcessor.from_pretrained(source, device=device).eval()
            self.model = LFM2AudioModel.from_pretrained(source, device=device, dtype=self.dtype).eval()
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
            raise EngineError(f"{self.spec.id}: could not load the model from {source}: {e}") from e
        check_all_loaded(self.model, get_model_dir(source), self.spec.id)

    def _source(self) -> Path | str:
        # liquid-audio treats a str as a hub repo id (snapshot_download) and only a Path as local
        if self.weights.path is not None:
            return Path(self.weights.path)
        if self.weights.source == "hub" and self.weights.hub_id:
            return self.weights.hub_id
        raise EngineError(f"{self.spec.id}: no local path or hub id for the weights ({self.weights.describe()}).")

    def memory_bytes(self) -> int:
        model = getattr(self, "model", None)
        if model is None:
            return super().memory_bytes()
        tensors = [*model.parameters(), *model.buffers()]
        return sum(t.numel() * t.element_size() for t in tensors)

    def describe(self) -> dict:
        return {**super().describe(), "voices": list(VOICES)}

    # --- tasks ---------------------------------------------------------------------------------

    def transcribe(self, clip: AudioClip, options: AsrOptions) -> Transcription:
        """Greedy ASR; times prompt encoding (mel + conformer) and generation, not model loading."""
        budget = options.max_new_tokens or asr_token_budget(clip.duration_s)
        start = time.perf_counter()
        chat = self._chat(ASR_PROMPT)
        chat.new_turn("user")
        self._add_audio(chat, clip)
        chat.end_turn()
        chat.new_turn("assistant")
        out = self._generate(chat, interleaved=False, max_new_tokens=budget)
        text = self._decode_text(out.text_ids)
        elapsed = time.perf_counter() - start
        return Transcription(
            text=text,
            language=language_for(self.spec, options),
            segments=[Segment(0.0, clip.duration_s, text)] if text else [],
            inference_s=elapsed,
            flags=out.flags,
        )

    def voices(self) -> list[str]:
        return list(VOICES)

    def synthesize(
        self,
        text: str,
        voice: str | None = None,
        *,
        max_new_tokens: int | None = None,
        temperature: float | None = 0.8,
        top_k: int | None = 64,
    ) -> Synthesis:
        """Speak `text` in one of `VOICES`; times generation and audio decoding."""
        voice = voice or DEFAULT_VOICE
        if voice not in VOICES:
            raise EngineError(f"{self.spec.id}: unknown voice '{voice}'; choose one of {', '.join(VOICES)}.")
        if not text.strip():
            raise EngineError(f"{self.spec.id}: nothing to say (empty text).")
        budget = max_new_tokens or tts_token_budget(text)
        start = time.perf_counter()
        chat = self._chat(f"Perform TTS. Use the {VOICES[voice]} voice.")
        chat.new_turn("user")
        chat.add_text(text)
        chat.end_turn()
        chat.new_turn("assistant")
        out = self._generate(
            chat, interleaved=False, max_new_tokens=budget, audio_temperature=temperature, audio_top_k=top_k
        )
        samples = self._waveform(out.frames)
        elapsed = time.perf_counter() - start
        flags = out.flags + ([] if samples.size else ["no_audio"])
        return Synthesis(samples, OUTPUT_RATE, inference_s=elapsed, flags=flags)

    def chat(
        self,
        turns: Sequence[ChatTurn],
        *,
        max_new_tokens: int = 1024,
        temperature: float | None = 1.0,
        top_k: int | None = 4,
    ) -> ChatReply:
        """Answer the conversation so far with interleaved text and speech.

        Earlier assistant turns are given back as text only: their audio codes are not kept.
        """
        if not turns or turns[-1].role != "user":
            raise EngineError(f"{self.spec.id}: a chat must end with a user turn.")
        start = time.perf_counter()
        chat = self._chat(CHAT_PROMPT)
        for turn in turns:
            chat.new_turn(turn.role)
            if turn.audio is not None:
                self._add_audio(chat, turn.audio)
            if turn.text:
                chat.add_text(turn.text)
            chat.end_turn()
        chat.new_turn("assistant")
        out = self._generate(
            chat, interleaved=True, max_new_tokens=max_new_tokens, audio_temperature=temperature, audio_top_k=top_k
        )
        text = self._decode_text(out.text_ids)
        samples = self._waveform(out.frames)
        elapsed = time.perf_counter() - start
        flags = out.flags + ([] if samples.size else ["no_audio"])
        return ChatReply(text, samples, OUTPUT_RATE, inference_s=elapsed, flags=flags)

    # --- plumbing ------------------------------------------------------------------------------

    def _chat(self, system_prompt: str) -> ChatState:
        from liquid_audio import ChatState

        # ChatState defaults to bfloat16 features whatever the model's dtype
        chat = ChatState(self.processor, codebooks=self.model.codebooks, dtype=self.dtype)
        chat.new_turn("system")
        chat.add_text(system_prompt)
        chat.end_turn()
        return chat

    def _add_audio(self, chat: ChatState, clip: AudioClip) -> None:
        import torch

        chat.add_audio(torch.from_numpy(np.ascontiguousarray(clip.samples, dtype=np.float32))[None], clip.sample_rate)

    def _generate(self, chat: ChatState, *, interleaved: bool, max_new_tokens: int, **sampling: object) -> Generated:
        generate = self.model.generate_interleaved if interleaved else self.model.generate_sequential
        text_ids: list[int] = []
        frames: list[torch.Tensor] = []
        count, ended = 0, False
        for token in generate(**chat, max_new_tokens=max_new_tokens, **sampling):
            count += 1
            if token.numel() == 1:
                text_ids.append(int(token))
                ended = text_ids[-1] == IM_END
            else:
                frames.append(token)
                ended = False
        # Every step yields one token, except that interleaved mode breaks on <|im_end|> without
        # yielding it; sequential mode yields it, so a budget-filling run may still have ended.
        return Generated(text_ids, frames, truncated=count >= max_new_tokens and not ended)

    def _decode_text(self, ids: list[int]) -> str:
        return self.processor.text.decode(ids, skip_special_tokens=True).strip()

    def _waveform(self, frames: list[torch.Tensor]) -> np.ndarray:
        import torch

        # drop end-of-audio frames; the detokenizer rejects any code outside 0..2047
        codes = [f for f in frames if bool((f < END_OF_AUDIO).all())]
        if not codes:
            return np.zeros(0, dtype=np.float32)
        wave = self._audio_decoder()(torch.stack(codes, 1).unsqueeze(0))
        return wave[0].float().cpu().numpy()

    def _audio_decoder(self) -> Callable[[torch.Tensor], torch.Tensor]:
        proc = self.processor
        if proc.detokenizer_path is not None:
            # processor.decode would build the detokenizer itself with a hard-coded .cuda()
            if proc._audio_detokenizer is None:
                proc._audio_detokenizer = build_detokenizer(Path(proc.detokenizer_path), self.config.device)
            return proc.decode
        if proc.mimi_weights_path is not None:  # older checkpoints ship the Mimi codec instead
            mimi = proc.mimi
            return lambda codes: mimi.decode(codes)[0]
        raise EngineError(f"{self.spec.id}: this checkpoint has no audio decoder (audio_detokenizer/ or Mimi).")


# --- helpers -----------------------------------------------------------------------------------


def patch_liquid_audio() -> None:
    """liquid-audio 1.3.0's conformer encoder calls math.sqrt for `xscaling` but never imports math."""
    from liquid_audio.model.conformer import encoder

    if not hasattr(encoder, "math"):
        encoder.math = math


def torch_dtype(compute_type: str) -> torch.dtype:
    import torch

    if compute_type not in DTYPES:
        raise EngineError(f"LFM2.5-Audio runs in {', '.join(DTYPES)}, not '{compute_type}'.")
    return getattr(torch, compute_type)


def asr_token_budget(duration_s: float) -> int:
    """Fast speech is about 5 text tokens a second; allow 8, plus room for punctuation and the end."""
    return 32 + math.ceil(8 * duration_s)


def tts_token_budget(text: str) -> int:
    """Audio frames run at 12.5 a second and speech at 10-15 characters a second: 2 frames a character
    covers slow speech; the constant covers the tokens around the audio."""
    return 64 + 2 * len(text)


def build_detokenizer(folder: Path, device: str) -> torch.nn.Module:
    """The LFM2-based audio detokenizer on `device`, strictly loaded from `folder`."""
    import torch
    from liquid_audio import LFM2AudioDetokenizer
    from safetensors.torch import load_file
    from transformers import Lfm2Config

    config = Lfm2Config.from_pretrained(folder / "config.json")
    # the config uses llama.cpp layer names; transformers' Lfm2Model knows sliding windows as full
    # attention (the detokenizer applies its own sliding-window mask)
    config.layer_types = ["full_attention" if t == "sliding_attention" else t for t in config.layer_types]
    detok = LFM2AudioDetokenizer(config)
    try:
        detok.load_state_dict(load_file(folder / "model.safetensors"))
    except (OSError, RuntimeError) as e:
        raise EngineError(f"audio detokenizer at {folder} does not match its config: {e}") from e
    return detok.to(torch.device(device)).eval()


def checkpoint_keys(folder: Path) -> set[str]:
    """Tensor names in the checkpoint file(s) accelerate loads from `folder`."""
    for name in WEIGHT_FILES:
        path = folder / name
        if path.is_file():
            return _file_keys(path)
    indexes = list(folder.glob("*.index.json"))
    if len(indexes) == 1:
        return set(json.loads(indexes[0].read_text())["weight_map"])
    raise EngineError(f"{folder}: no model.safetensors, pytorch_model.bin or single *.index.json.")


def _file_keys(path: Path) -> set[str]:
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            return set(f.keys())
    import torch

    return set(torch.load(path, map_location="cpu", mmap=True, weights_only=True))


def unloaded_parameters(model: torch.nn.Module, keys: set[str]) -> list[str]:
    """Parameters none of whose names (tied weights have several) is among `keys`."""
    aliases: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        aliases.setdefault(id(param), []).append(name)
    return [names[0] for names in aliases.values() if not any(n in keys for n in names)]


def check_all_loaded(model: torch.nn.Module, folder: Path, model_id: str) -> None:
    """Refuse a model that kept random weights.

    liquid-audio loads with accelerate's load_checkpoint_in_model(strict=False), so a checkpoint
    with missing or renamed tensors loads silently and generates garbage.
    """
    keys = checkpoint_keys(folder)
    missing = unloaded_parameters(model, keys)
    if not missing:
        return
    unknown = sorted(keys - set(model.state_dict()))
    hint = f"; it has {len(unknown)} unknown tensors, e.g. {', '.join(unknown[:3])}" if unknown else ""
    raise EngineError(
        f"{model_id}: the checkpoint at {folder} lacks {len(missing)} of the model's weights "
        f"(e.g. {', '.join(missing[:3])}){hint}. Re-download it or use a matching liquid-audio version."
    )
