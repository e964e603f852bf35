"""What the System page shows: database, versions, engines and loaded models."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.format import fmt_seconds
from lab import store
from lab.engines import Availability
from lab.settings import settings
from lab.store import clips_dir


@dataclass(frozen=True)
class DbInfo:
    url: str
    path: Path | None
    size_bytes: int | None
    clips_dir: Path
    clips_bytes: int
    runs: int
    results: int
    clips: int


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def db_info() -> DbInfo:
    url = settings().db_url
    path = None
    size = None
    if url.startswith("sqlite:///") and ":memory:" not in url:
        path = Path(url.removeprefix("sqlite:///"))
        size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
    cdir = clips_dir()
    cbytes = sum(p.stat().st_size for p in cdir.iterdir() if p.is_file()) if cdir.is_dir() else 0
    n = store.counts()
    return DbInfo(_redact(url), path, size, cdir, cbytes, n.runs, n.results, n.clips)


def versions_frame(versions: Mapping[str, str | None]) -> pd.DataFrame:
    return pd.DataFrame([{"Library": k, "Version": v or "not installed"} for k, v in versions.items()])


def engines_frame(availability: Iterable[Availability]) -> pd.DataFrame:
    rows = [{"Model": a.model, "Runtime": a.model.split(":", 1)[0], "Available": a.available,
             "Weights from": a.source or "—", "Where / how to get them": (a.path if a.available else a.hint) or "—"}
            for a in availability]
    return pd.DataFrame(rows, columns=["Model", "Runtime", "Available", "Weights from", "Where / how to get them"])


def cache_frame(loaded: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    rows = [{"Model": m["model"], "Device": m["device"], "Compute type": m["compute_type"],
             "Load time": fmt_seconds(m["load_s"]), "Memory (MiB)": round(m["memory_mb"], 1)} for m in loaded]
    return pd.DataFrame(rows, columns=["Model", "Device", "Compute type", "Load time", "Memory (MiB)"])
