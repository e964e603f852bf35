"""Every `LAB_*` setting in one object, read from the environment once.

`settings()` is the one place code looks them up. Tests (or a long-lived process whose
environment changed) call `reload_settings()`; `override(...)` swaps values for a block.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
DB_DIR = REPO / "db"


class Settings(BaseSettings):
    """Defaults here are the README's 'Settings' table."""

    model_config = SettingsConfigDict(env_prefix="LAB_", extra="ignore", frozen=True, env_ignore_empty=True)

    db_url: str = f"sqlite:///{DB_DIR / 'lab.sqlite'}"
    clips_dir: Path | None = None  # None: beside the SQLite file (db/clips for other databases)
    weights_dir: Path | None = None
    cache_dir: Path = Path.home() / ".cache" / "model-lab"
    device: str | None = None  # None: cuda > mps > cpu
    threads: int | None = Field(default=None, ge=1)  # None: physical cores
    memory_budget_gb: float | None = Field(default=None, gt=0)  # None: 60% of RAM
    max_audio_s: float = Field(default=30 * 60, gt=0)
    shared_audio: Path = REPO.parent / "shared" / "audio"
    debug: bool = False
    # the HTTP API (`lab serve`): per-key rate limit, upload size, per-model queue, per-request time limit
    rate_limit: str = "120/minute"  # `limits` notation, e.g. "10/second", "1000/hour"
    max_upload_mb: float = Field(default=50, gt=0)
    queue_length: int = Field(default=8, ge=1)  # requests waiting per model before 503
    request_timeout_s: float = Field(default=300, gt=0)
    serve_slots: int = Field(default=1, ge=1)  # models running at once; each already uses LAB_THREADS
    ray_address: str | None = None  # the Ray cluster for evaluations (bare `lab eval --ray`, the Benchmarks switch)
    # display name recorded with what this process uploads (lab --user NAME; the API key's name in the API)
    user: str = Field(default_factory=lambda: _os_user(), min_length=1)
    # the Live microphone's WebRTC ICE servers, JSON as in RTCConfiguration.iceServers: none (host candidates)
    # serves a browser on this machine or its LAN; a remote browser needs STUN/TURN, e.g.
    # '[{"urls": ["stun:stun.example.org:3478"]}]'
    webrtc_ice_servers: list[dict] = Field(default_factory=list)
    # Hugging Face's own switch, read here so no other module looks at the environment
    hf_hub_offline: bool = Field(default=False, validation_alias=AliasChoices("HF_HUB_OFFLINE"))

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_parses(cls, v: str) -> str:
        from limits import parse

        parse(v)  # "120/minute", "10/second"...: a bad one is a ValueError now, not on every request
        return v

    @property
    def clips_path(self) -> Path:
        """Where clip audio is kept: LAB_CLIPS_DIR, else beside the SQLite file, else db/clips."""
        if self.clips_dir is not None:
            return self.clips_dir
        url = make_url(self.db_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).resolve().parent / "clips"
        return DB_DIR / "clips"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return "unknown"


_current: Settings | None = None


def settings() -> Settings:
    global _current
    if _current is None:
        _current = Settings()
    return _current


def reload_settings() -> Settings:
    """Read the environment again (after a test or a caller changed it)."""
    global _current
    _current = Settings()
    return _current


@contextmanager
def override(**changes: object) -> Iterator[Settings]:
    """These settings changed for the block, then the previous ones back."""
    global _current
    before = settings()
    _current = before.model_copy(update=changes)
    try:
        yield _current
    finally:
        _current = before
