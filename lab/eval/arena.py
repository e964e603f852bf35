"""Blind A/B judgements and the ratings they add up to.

A trial shows two anonymised outputs (two TTS voices speaking the same text, or two ASR
transcripts of one recording). The vote unlocks only after both were played; the names are
revealed after the vote. Ratings are Bradley-Terry strengths fitted by the MM algorithm (Hunter,
2004), ties counting half a win each way, on an Elo-like scale, with bootstrap 95% intervals.
A model is ranked only once it has enough votes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from lab import store
from lab.catalog import get_spec
from lab.errors import LabError
from lab.store import Vote

CHOICES = ("a", "b", "tie", "both_bad")
MIN_VOTES = 5
SCALE, BASE = 400.0, 1000.0  # rating = BASE + SCALE * log10(strength)


@dataclass
class BlindTrial:
    task: str
    model_a: str
    model_b: str
    prompt: str | None = None
    run_id: int | None = None
    requires_playback: bool = True
    played: set[str] = field(default_factory=set)
    vote_id: int | None = None

    @property
    def can_vote(self) -> bool:
        return not self.requires_playback or {"a", "b"} <= self.played

    @property
    def revealed(self) -> bool:
        return self.vote_id is not None

    def mark_played(self, side: str) -> None:
        if side not in ("a", "b"):
            raise LabError(f"side must be 'a' or 'b', not {side!r}.")
        self.played.add(side)

    def label(self, side: str) -> str:
        """What the judge sees: 'A'/'B' before the vote, the model id after."""
        model = self.model_a if side == "a" else self.model_b
        return model if self.revealed else side.upper()

    def vote(self, choice: str, voter: str | None = None) -> Vote:
        if self.revealed:
            raise LabError("this trial already has a vote; start a new one.")
        if choice not in CHOICES:
            raise LabError(f"vote must be one of {', '.join(CHOICES)}.")
        if not self.can_vote:
            raise LabError("play both A and B before voting.")
        row = store.add_vote(Vote(task=self.task, model_a=self.model_a, model_b=self.model_b, winner=choice,
                                  prompt=self.prompt, run_id=self.run_id, voter=voter))
        self.vote_id = row.id
        return row


def new_trial(task: str, models: list[str], prompt: str | None = None, run_id: int | None = None,
              rng: random.Random | None = None, requires_playback: bool = True) -> BlindTrial:
    """Two different models chosen at random, in random order."""
    pool = list(dict.fromkeys(models))
    if len(pool) < 2:
        raise LabError("a blind comparison needs at least two models.")
    for m in pool:
        get_spec(m)
    a, b = (rng or random.SystemRandom()).sample(pool, 2)
    return BlindTrial(task, a, b, prompt, run_id, requires_playback)


def votes(task: str | None = None, since: datetime | None = None) -> list[Vote]:
    return store.votes(task, since)


def _fit(models: list[str], games: list[tuple[int, int, float]], iters: int = 300) -> np.ndarray:
    """Bradley-Terry strengths by MM. games: (i, j, score of i in [0, 1]).

    One virtual tie of every model against a fixed average player keeps strengths finite when a
    model has won (or lost) every game so far.
    """
    n = len(models)
    g = np.asarray(games, dtype=float).reshape(-1, 3)
    i, j, s = g[:, 0].astype(int), g[:, 1].astype(int), g[:, 2]
    wins = np.full(n, 0.5)
    np.add.at(wins, i, s)
    np.add.at(wins, j, 1 - s)
    pairs = np.zeros((n, n))
    np.add.at(pairs, (i, j), 1)
    np.add.at(pairs, (j, i), 1)
    p = np.ones(n)
    for _ in range(iters):
        denom = (pairs / (p[:, None] + p[None, :])).sum(1) + 1 / (p + 1.0)
        new = wins / denom
        new /= np.exp(np.mean(np.log(new)))
        if np.max(np.abs(new - p) / p) < 1e-7:  # converged: further sweeps change nothing shown
            return new
        p = new
    return p


@dataclass(frozen=True)
class Rating:
    model: str
    rating: float | None
    ci: tuple[float, float] | None
    votes: int
    wins: float  # ties count half
    ranked: bool
    rank: int | None = None


def leaderboard(task: str, min_votes: int = MIN_VOTES, samples: int = 200, seed: int = 0) -> list[Rating]:
    """Ratings of every model with votes on `task`, ranked ones first by rating."""
    rows = [v for v in votes(task)]
    models = sorted({v.model_a for v in rows} | {v.model_b for v in rows})
    if not models:
        return []
    idx = {m: i for i, m in enumerate(models)}
    score = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}
    games = [(idx[v.model_a], idx[v.model_b], score[v.winner]) for v in rows]
    point = _fit(models, games)
    rng = np.random.default_rng(seed)
    boot = np.array([_fit(models, [games[k] for k in rng.integers(0, len(games), len(games))])
                     for _ in range(samples)])
    counts = {m: 0 for m in models}
    wins = {m: 0.0 for m in models}
    for i, j, s in games:
        counts[models[i]] += 1
        counts[models[j]] += 1
        wins[models[i]] += s
        wins[models[j]] += 1 - s
    out = []
    for m, i in idx.items():
        ranked = counts[m] >= min_votes
        lo, hi = np.percentile(boot[:, i], [2.5, 97.5])
        out.append(Rating(m, _elo(point[i]), (_elo(lo), _elo(hi)), counts[m], wins[m], ranked))
    ranked = sorted((r for r in out if r.ranked), key=lambda r: -r.rating)
    ranked = [Rating(**{**r.__dict__, "rank": k + 1}) for k, r in enumerate(ranked)]
    return ranked + sorted((r for r in out if not r.ranked), key=lambda r: -r.votes)


def _elo(p: float) -> float:
    return float(BASE + SCALE * np.log10(p))
