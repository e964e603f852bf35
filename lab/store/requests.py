"""The request log the HTTP API writes and `/stats` reads: status, latency and queue wait per request."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from db.models import ApiKey, RequestLog, utcnow
from lab.store._db import session
from lab.store.records import RequestStats


def log_request(method: str, endpoint: str, status: int, latency_s: float, key_id: int | None = None,
                model_id: str | None = None, queue_s: float | None = None) -> None:
    with session() as s:
        s.add(RequestLog(method=method, endpoint=endpoint, status=status, latency_s=latency_s, key_id=key_id,
                         model_id=model_id, queue_s=queue_s))
        s.commit()


def _quantile(sorted_xs: list[float], q: float) -> float | None:
    """Nearest-rank quantile."""
    if not sorted_xs:
        return None
    return sorted_xs[min(len(sorted_xs) - 1, max(0, int(round(q * len(sorted_xs) + 0.5)) - 1))]


def _stats(group: str | None, rows: list[RequestLog]) -> RequestStats:
    lat = sorted(r.latency_s for r in rows)
    queued = [r.queue_s for r in rows if r.queue_s is not None]
    return RequestStats(group=group, requests=len(rows), errors=sum(r.status >= 400 for r in rows),
                        p50_s=_quantile(lat, 0.5), p95_s=_quantile(lat, 0.95),
                        mean_queue_s=sum(queued) / len(queued) if queued else None)


def request_stats(window_s: float) -> dict[str, list[RequestStats]]:
    """Requests over the last `window_s` seconds: all of them, per model and per key (by key name)."""
    since = utcnow() - timedelta(seconds=window_s)
    with session() as s:
        rows = list(s.exec(select(RequestLog).where(col(RequestLog.at) >= since)).all())
        names = {k.id: k.name for k in s.exec(select(ApiKey)).all()}
    by_model: dict[str, list[RequestLog]] = {}
    by_key: dict[str, list[RequestLog]] = {}
    for r in rows:
        if r.model_id:
            by_model.setdefault(r.model_id, []).append(r)
        if r.key_id is not None:
            by_key.setdefault(names.get(r.key_id, f"#{r.key_id}"), []).append(r)
    return {"total": [_stats(None, rows)],
            "by_model": [_stats(m, v) for m, v in sorted(by_model.items())],
            "by_key": [_stats(k, v) for k, v in sorted(by_key.items())]}
