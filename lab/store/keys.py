"""API keys: created once (the caller shows the key once), stored as a sha256 hash, revoked by name."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import col, select

from db.models import ApiKey, utcnow
from lab.errors import LabError, NotFoundError
from lab.store._db import session
from lab.store.records import ApiKeyRecord

KEY_PREFIX = "lab_"


def _hash(key: str) -> str:
    # keys are 256 random bits, so a plain sha256 is enough (no salt or slow hash needed)
    return hashlib.sha256(key.encode()).hexdigest()


def _record(row: ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(id=row.id, name=row.name, prefix=row.prefix, admin=row.admin, experimental=row.experimental,
                        created_at=row.created_at, revoked_at=row.revoked_at)


def create_key(name: str, admin: bool = False, experimental: bool = False) -> tuple[str, ApiKeyRecord]:
    """A new key and its record; only the hash is stored, so the key cannot be shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise LabError("a key needs a name of 1 to 100 characters.")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, prefix=key[:8], key_hash=_hash(key), admin=admin, experimental=experimental)
    with session() as s:
        s.add(row)
        s.commit()
        return key, _record(row)


def verify_key(key: str) -> ApiKeyRecord | None:
    """The active key's record, or None for an unknown or revoked key."""
    if not key or len(key) > 200:
        return None
    with session() as s:
        row = s.exec(select(ApiKey).where(ApiKey.key_hash == _hash(key))).first()
    return _record(row) if row is not None and row.revoked_at is None else None


def list_keys() -> list[ApiKeyRecord]:
    with session() as s:
        return [_record(r) for r in s.exec(select(ApiKey).order_by(col(ApiKey.id))).all()]


def revoke_key(name: str) -> list[ApiKeyRecord]:
    """Revoke every active key of that name (or with that prefix); NotFoundError when there is none."""
    with session() as s:
        rows = s.exec(select(ApiKey).where((ApiKey.name == name) | (ApiKey.prefix == name))
                      .where(col(ApiKey.revoked_at).is_(None))).all()
        if not rows:
            raise NotFoundError(f"no active key named '{name}'.")
        for row in rows:
            row.revoked_at = utcnow()
            s.add(row)
        s.commit()
        return [_record(r) for r in rows]
