"""Pure shaping for the Live mode: what a model's card shows at one moment of a stream."""

from __future__ import annotations

import html

from lab.live import StreamResult, display_at, stored_stream
from lab.streaming import Tick, Timeline


def card_html(model: str, line: Timeline, t: float) -> str:
    """A replayed stream's card at time `t` of it."""
    return tick_html(model, display_at(line, t), min(t, line.duration_s), line.duration_s)


def tick_html(model: str, tick: Tick | None, heard_s: float, duration_s: float | None = None,
              error: str | None = None) -> str:
    """Committed text in black, partial in grey, the audio heard so far, and the lag of what is shown
    (when it appeared − the audio it had heard); a live microphone has no duration yet."""
    committed, partial = (tick.committed, tick.partial) if tick else ("", "")
    if error:
        state = f" · <span class='live-error' style='color:#c0392b'>{html.escape(error)}</span>"
    else:
        state = f" · lag {tick.at_s - tick.audio_s:.2f} s" if tick else " · waiting for the first chunk"
    of = f" of {duration_s:.1f} s" if duration_s else ""
    return (f"<div class='live-card' data-model='{html.escape(model)}'>"
            f"<small class='live-at' data-t='{heard_s:.2f}' style='color:#888'>"
            f"audio {heard_s:.1f} s{of}{state}</small><br>"
            f"<span class='committed' style='color:#000'>{html.escape(committed)}</span> "
            f"<span class='partial' style='color:#999'>{html.escape(partial)}</span></div>")


def metric_rows(results: list[StreamResult]) -> list[dict]:
    """The streaming metrics table: the keys of `lab stream --json`, then what each model ran with."""
    return [{**r.to_json(), "compute_type": r.result.compute_type, "beam_size": r.result.beam_size,
             "device": r.result.device, "threads": r.result.threads, "native": r.native} for r in results]


REPLAY_METRICS = ("wer", "offline_wer", "first_word_s", "emission_p50_s", "emission_p95_s", "revised_words",
                  "kept_up", "rtf", "final_lag_s")


def replay(extra: dict) -> tuple[dict, Timeline | None]:
    """A stored stream result's metrics (the `lab stream --json` names) and its timeline, for History."""
    m, line = stored_stream(extra)
    return {k: m.get(k) for k in REPLAY_METRICS}, line
