"""Warning flags on a transcript: cut at the token budget, stuck in a loop, words from silence."""

from __future__ import annotations

import numpy as np

LOOP_REPEATS = 4  # an n-gram repeated this many times in a row is a decoding loop
LOOP_MAX_N = 6
SILENCE_DBFS = -55.0  # quieter than this over the whole clip: nobody is speaking

# One line per flag, for wherever a flag is shown (cards, CLI, API clients)
FLAG_EXPLANATIONS = {
    "repetition_loop": f"The same words repeat {LOOP_REPEATS}+ times in a row: the decoder got stuck in a loop "
                       "(common on noise or long silences); the transcript past that point is unreliable.",
    "text_on_silence": "Text came out of a clip that is essentially silent: the model hallucinated it.",
    "truncated": "Decoding stopped at the token budget, not at an end token: the transcript may be cut short.",
    "no_audio": "The model produced no speech.",
}


def repeated_ngram(text: str, repeats: int = LOOP_REPEATS, max_n: int = LOOP_MAX_N) -> str | None:
    """The first n-gram (n ≤ max_n) that occurs `repeats` times back to back, or None."""
    words = text.lower().split()
    for n in range(1, max_n + 1):
        for i in range(0, len(words) - n * repeats + 1):
            gram = words[i:i + n]
            if all(words[i + k * n:i + (k + 1) * n] == gram for k in range(1, repeats)):
                return " ".join(gram)
    return None


def speech_absent(samples: np.ndarray) -> bool:
    if samples.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return rms == 0 or 20 * np.log10(rms) < SILENCE_DBFS


def flags_for(text: str, samples: np.ndarray, engine_flags: list[str]) -> list[str]:
    out = list(dict.fromkeys(engine_flags))  # e.g. "truncated" from an LLM-style decoder
    if repeated_ngram(text):
        out.append("repetition_loop")
    if text.strip() and speech_absent(samples):
        out.append("text_on_silence")
    return out


def explain_flag(flag: str) -> str:
    """A one-line explanation of a warning flag (a generic one for flags this module does not know)."""
    return FLAG_EXPLANATIONS.get(flag, f"The engine flagged this result as '{flag}'.")


def explain_flags(flags: list[str] | tuple[str, ...] | None) -> list[str]:
    """`flag: explanation` for each flag, in order."""
    return [f"{f}: {explain_flag(f)}" for f in flags or ()]
