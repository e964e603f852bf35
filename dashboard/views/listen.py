"""What the Listen page shows: TTS cards, blind trials and the leaderboards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dashboard.cards import MetricView
from dashboard.format import display_name, fmt_pct, fmt_rtf, fmt_seconds
from lab.charts import model_color
from lab.eval.arena import BlindTrial, Rating
from lab.tts import TtsResult

# Harvard sentences (IEEE 1969), phonetically balanced: the standard prompts for listening tests
PROMPTS = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
)


VOTE_LABELS = {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both bad"}


@dataclass(frozen=True)
class TtsCard:
    """One synthesis result, shaped once when it arrives; the WAV is encoded once too."""

    model: str
    title: str
    color: str
    voice: str | None
    wav: bytes
    error: str | None
    metrics: tuple[MetricView, ...]
    flags: tuple[str, ...]
    asr_model: str | None
    asr_text: str | None
    asr_wer: str | None  # the round trip's headline score, formatted (CER for Japanese; see asr_metric)
    asr_metric: str = "WER"


def tts_card(r: TtsResult) -> TtsCard:
    cold = "" if r.cached else " (cold load)"
    metrics = (
        MetricView("Duration", fmt_seconds(r.duration_s), "length of the speech produced"),
        MetricView("Latency", fmt_seconds(r.latency_s), "synthesis time (no model load)"),
        MetricView("RTF", fmt_rtf(r.rtf), "compute seconds per second of speech; lower is faster, < 1 is "
                   "faster than real time"),
        MetricView("First audio", fmt_seconds(r.first_audio_s), "time until the first audio chunk was ready "
                   "(— when the engine does not stream)"),
        MetricView("Load", "cached" if r.cached else fmt_seconds(r.load_s), f"model load{cold}"),
    )
    return TtsCard(r.model, display_name(r.model), model_color(r.model), r.voice,
                   r.wav_bytes() if r.error is None else b"", r.error, metrics, tuple(r.flags), r.asr_model,
                   r.asr_text, None if r.asr_model is None else fmt_pct(r.asr_score), (r.asr_metric or "wer").upper())


@dataclass(frozen=True)
class ListenOutcome:
    """The last synthesis of a session: a rerun only draws it."""

    run_id: int | None
    text: str
    cards: tuple[TtsCard, ...]


@dataclass
class TrialState:
    """A blind trial in session state: the core trial plus what the judge gets (audio or transcripts)."""

    trial: BlindTrial
    outputs: dict[str, bytes | str]  # side → WAV bytes (tts) or transcript (asr)
    details: dict[str, str]  # side → what is revealed with the name (metrics), shown after the vote
    errors: dict[str, str]  # side → error message, if that side's model failed
    last_played: str | None = None  # the side whose player was just revealed (it autoplays)
    choice: str | None = None  # the vote, once cast


def leaderboard_frames(ratings: Sequence[Rating]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ranked models (rank, rating, 95% CI, votes, wins) and, apart, those below the minimum number of votes."""
    def ci(r: Rating) -> str:
        return f"{r.ci[0]:.0f} – {r.ci[1]:.0f}" if r.ci else "—"

    ranked = pd.DataFrame([{"Rank": r.rank, "Model": r.model, "Rating": round(r.rating or 0), "95% CI": ci(r),
                            "Votes": r.votes, "Wins": r.wins} for r in ratings if r.ranked],
                          columns=["Rank", "Model", "Rating", "95% CI", "Votes", "Wins"])
    unranked = pd.DataFrame([{"Model": r.model, "Votes": r.votes, "Wins": r.wins,
                              "Provisional rating": round(r.rating or 0), "95% CI": ci(r)}
                             for r in ratings if not r.ranked],
                            columns=["Model", "Votes", "Wins", "Provisional rating", "95% CI"])
    return ranked, unranked
