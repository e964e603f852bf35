"""Who may call the API: a key per caller (sha256 stored), admin rights, a rate limit per key.

Keys come as `Authorization: Bearer KEY` or `X-API-Key: KEY`. The limit (LAB_RATE_LIMIT, `limits`
notation like "120/minute") is a moving window per key, kept in this process's memory.
"""

from __future__ import annotations

import math
import time
from functools import cache
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from lab import store
from lab.settings import settings
from lab.store import ApiKeyRecord

_bearer = HTTPBearer(auto_error=False, description="An API key from `lab apikey create NAME`.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key, in a header of its own.")
_limiter = MovingWindowRateLimiter(MemoryStorage())


@cache
def _rule(text: str) -> RateLimitItem:
    return parse(text)


def reset_limits() -> None:
    """Forget every key's recent requests (tests; a changed LAB_RATE_LIMIT)."""
    _limiter.storage.reset()


def _rate_limit(key: ApiKeyRecord) -> None:
    rule = _rule(settings().rate_limit)
    if _limiter.hit(rule, "key", str(key.id)):
        return
    reset = _limiter.get_window_stats(rule, "key", str(key.id)).reset_time
    retry = max(1, math.ceil(reset - time.time()))
    raise HTTPException(429, f"rate limit of {settings().rate_limit} per key reached; retry in {retry} s.",
                        headers={"Retry-After": str(retry)})


def caller(request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
           header: Annotated[str | None, Depends(_header)] = None) -> ApiKeyRecord:
    """The calling key (401 without a valid one), counted against its rate limit (429)."""
    given = header or (bearer.credentials if bearer else None)
    if not given:
        raise HTTPException(401, "an API key is required (Authorization: Bearer KEY or X-API-Key: KEY).",
                            headers={"WWW-Authenticate": "Bearer"})
    key = store.verify_key(given)
    if key is None:
        raise HTTPException(401, "unknown or revoked API key.", headers={"WWW-Authenticate": "Bearer"})
    request.state.key_id = key.id
    _rate_limit(key)
    return key


def admin(key: Annotated[ApiKeyRecord, Depends(caller)]) -> ApiKeyRecord:
    """A key with admin rights (403 otherwise): deleting runs, promoting models."""
    if not key.admin:
        raise HTTPException(403, f"key '{key.name}' is not an admin key; this needs one (lab apikey create --admin).")
    return key


Caller = Annotated[ApiKeyRecord, Depends(caller)]
Admin = Annotated[ApiKeyRecord, Depends(admin)]
