"""Formatting for display: numbers, times, sizes, escaping. Pure functions, shared by every page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np

from lab.audio import AudioClip
from lab.catalog import catalog

REPO = Path(__file__).resolve().parents[1]


AUDIO_TYPES = ("wav", "flac", "mp3", "ogg", "oga", "opus", "m4a", "mp4", "aac", "webm", "weba")


MIME = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg", "oga": "audio/ogg",
        "opus": "audio/ogg", "m4a": "audio/mp4", "mp4": "audio/mp4", "aac": "audio/aac", "webm": "audio/webm",
        "weba": "audio/webm"}


def fmt_seconds(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f} s"


def fmt_pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def fmt_rtfx(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}×"


def fmt_params(n: int | None) -> str:
    if not n:
        return "—"
    return f"{n / 1e9:.1f} B" if n >= 1e9 else f"{n / 1e6:.0f} M"


def fmt_when(iso: str | datetime | None) -> str:
    """Stored UTC timestamps as 'YYYY-MM-DD HH:MM:SS' (the column header says UTC)."""
    if iso is None:
        return "—"
    when = iso if isinstance(iso, datetime) else datetime.fromisoformat(iso)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def fmt_bytes(n: int | float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def slug(text: str) -> str:
    """A CSS-safe key for element containers (Streamlit turns keys into class names)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def display_name(model_id: str) -> str:
    spec = catalog().get(model_id)
    return spec.display_name if spec else model_id


def mime_for(name: str) -> str:
    return MIME.get(Path(name).suffix.lower().lstrip("."), "audio/wav")


def md_escape(text: str) -> str:
    """Plain text for st.markdown/st.caption: no emphasis, links, math ($) or colour directives."""
    return re.sub(r"([\\`*_{}\[\]()#+!|$~:<>])", r"\\\1", text)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def clip_caption(clip: AudioClip) -> str:
    ch = {1: "mono", 2: "stereo"}.get(clip.original_channels, f"{clip.original_channels} ch")
    rate = f"{clip.original_rate / 1000:g} kHz" if clip.original_rate else "? kHz"
    st_ = clip.stats
    level = f"peak {st_.peak:.2f}, RMS {st_.rms_dbfs:.1f} dBFS" if np.isfinite(st_.rms_dbfs) else ""
    clipped = f", {st_.clipped_fraction * 100:.2f}% clipped" if st_.clipped_fraction > 0.001 else ""
    return (f"{clip.name} · {clip.duration_s:.1f} s · {clip.container or '?'} {rate} {ch} → 16 kHz mono · "
            f"{level}{clipped}")


def fmt_flags(flags: Mapping[str, int] | None) -> str:
    """Flag counts over a dataset ('truncated ×2, repetition ×1'); '' when nothing was flagged."""
    return ", ".join(f"{k} ×{v}" for k, v in sorted((flags or {}).items())) if flags else ""


def fmt_rtf(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"
