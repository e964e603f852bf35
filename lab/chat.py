"""Multi-turn speech chat with chat-capable models (LFM2.5-Audio): the conversation and its storage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from lab import store
from lab.audio import AudioClip, from_array
from lab.catalog import get_spec, models_for
from lab.engines.base import ChatReply, ChatTurn
from lab.errors import LabError, failure_message
from lab.loading import ModelCache, default_cache


def chat_models() -> list[str]:
    return [s.id for s in models_for("chat")]


@dataclass
class Exchange:
    user: ChatTurn
    reply: ChatReply | None = None
    error: str | None = None
    latency_s: float | None = None


@dataclass
class Conversation:
    """One conversation with one model; kept per dashboard session, stored on request."""

    model: str
    exchanges: list[Exchange] = field(default_factory=list)
    run_id: int | None = None

    def __post_init__(self) -> None:
        if "chat" not in get_spec(self.model).tasks:
            raise LabError(f"{self.model} cannot chat; chat models: {', '.join(chat_models())}.")

    def turns(self) -> list[ChatTurn]:
        out: list[ChatTurn] = []
        for ex in self.exchanges:
            out.append(ex.user)
            if ex.reply is not None:
                out.append(ChatTurn("assistant", ex.reply.text))
        return out

    def say(self, text: str = "", audio: AudioClip | None = None, cache: ModelCache | None = None,
            **generation: float | int | None) -> Exchange:
        """Add a user turn (text, recorded audio or both) and get the model's reply."""
        if not (text or "").strip() and audio is None:
            raise LabError("say something: type a message or record one.")
        ex = Exchange(ChatTurn("user", (text or "").strip(), audio))
        self.exchanges.append(ex)
        try:
            engine = (cache or default_cache()).acquire(self.model).engine
            start = time.perf_counter()
            ex.reply = engine.chat(self.turns(), **generation)
            ex.latency_s = time.perf_counter() - start
        except Exception as e:  # the engine's own crash or OOM: keep the conversation, report the turn
            ex.error = failure_message(self.model, e, "chatting")
        return ex

    def save(self) -> int:
        """Store the conversation as a run of kind 'chat': one result per exchange, audio kept."""
        run_id = store.start_run("chat", {"models": [self.model], "turns": len(self.exchanges)})
        for i, ex in enumerate(self.exchanges):
            clip_id = None
            if ex.reply is not None and ex.reply.samples.size:
                clip_id = store.save_clip(from_array(ex.reply.samples, ex.reply.sample_rate, f"chat-{run_id}-{i}.wav"))
            user_clip = store.save_clip(ex.user.audio) if ex.user.audio is not None else None
            store.add_result(run_id, {
                "model_id": self.model, "clip_id": clip_id, "text": ex.reply.text if ex.reply else None,
                "latency_s": ex.latency_s, "error": ex.error, "flags": ex.reply.flags if ex.reply else [],
                "extra": {"turn": i, "user_text": ex.user.text, "user_clip_id": user_clip},
            })
        errors = sum(1 for ex in self.exchanges if ex.error)
        store.finish_run(run_id, "partial" if errors else "done")
        self.run_id = run_id
        return run_id
