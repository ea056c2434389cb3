"""Server-side staff sessions that keep the unlocked private key out of reach of either half alone.

At sign-in the staff private key is unlocked with the password, then sealed under a fresh random
*session key*. The store keeps the sealed key under a hash of a random *session id*; the cookie
carries the session id and the session key. So a copy of the session store (database or Redis)
cannot open the key, and a stolen cookie is useless once the session is ended or expires.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy.orm import Session

from portal import crypto
from portal.staff.models import StaffSession

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_LIFETIME = dt.timedelta(hours=12)
_PURPOSE = b"portal staff session v1"
_ID_BYTES = 32
_TOUCH_INTERVAL = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class SessionRecord:
    staff_member_id: int
    sealed_private_key: bytes
    second_factor_done: bool
    created_at: dt.datetime
    last_seen_at: dt.datetime


class SessionStore(Protocol):
    def save(self, id_hash: bytes, record: SessionRecord) -> None: ...
    def load(self, id_hash: bytes) -> SessionRecord | None: ...
    def delete(self, id_hash: bytes) -> None: ...
    def delete_all_for(self, staff_member_id: int, *, keep: bytes | None = None) -> None: ...
    def delete_expired(self, now: dt.datetime) -> int: ...


class DatabaseSessionStore:
    """Sessions in the `staff_sessions` table; commits its own small writes."""

    def __init__(self, session: Session) -> None:
        self._db = session

    def save(self, id_hash: bytes, record: SessionRecord) -> None:
        row = self._db.get(StaffSession, id_hash) or StaffSession(id_hash=id_hash)
        row.staff_member_id = record.staff_member_id
        row.sealed_private_key = record.sealed_private_key
        row.second_factor_done = record.second_factor_done
        row.created_at = record.created_at
        row.last_seen_at = record.last_seen_at
        self._db.add(row)
        self._db.commit()

    def load(self, id_hash: bytes) -> SessionRecord | None:
        row = self._db.get(StaffSession, id_hash)
        if row is None:
            return None
        return SessionRecord(
            row.staff_member_id, row.sealed_private_key, row.second_factor_done,
            row.created_at, row.last_seen_at,
        )

    def delete(self, id_hash: bytes) -> None:
        self._db.execute(delete(StaffSession).where(StaffSession.id_hash == id_hash))
        self._db.commit()

    def delete_all_for(self, staff_member_id: int, *, keep: bytes | None = None) -> None:
        statement = delete(StaffSession).where(StaffSession.staff_member_id == staff_member_id)
        if keep is not None:
            statement = statement.where(StaffSession.id_hash != keep)
        self._db.execute(statement)
        self._db.commit()

    def delete_expired(self, now: dt.datetime) -> int:
        result = self._db.execute(
            delete(StaffSession).where(
                (StaffSession.last_seen_at < now - IDLE_TIMEOUT)
                | (StaffSession.created_at < now - ABSOLUTE_LIFETIME)
            )
        )
        self._db.commit()
        return result.rowcount or 0


class RedisSessionStore:
    """Sessions in Redis, shared by several app processes; entries expire on their own."""

    def __init__(self, client, prefix: str = "portal:staff-session:") -> None:  # noqa: ANN001
        self._redis = client
        self._prefix = prefix

    def _key(self, id_hash: bytes) -> str:
        return self._prefix + id_hash.hex()

    def _index(self, staff_member_id: int) -> str:
        return f"{self._prefix}of:{staff_member_id}"

    def save(self, id_hash: bytes, record: SessionRecord) -> None:
        payload = json.dumps(
            {
                "staff": record.staff_member_id,
                "sealed": base64.b64encode(record.sealed_private_key).decode(),
                "second_factor": record.second_factor_done,
                "created": record.created_at.isoformat(),
                "seen": record.last_seen_at.isoformat(),
            }
        )
        ttl = int(ABSOLUTE_LIFETIME.total_seconds())
        pipe = self._redis.pipeline()
        pipe.set(self._key(id_hash), payload, ex=ttl)
        pipe.sadd(self._index(record.staff_member_id), id_hash.hex())
        pipe.expire(self._index(record.staff_member_id), ttl)
        pipe.execute()

    def load(self, id_hash: bytes) -> SessionRecord | None:
        raw = self._redis.get(self._key(id_hash))
        if raw is None:
            return None
        data = json.loads(raw)
        return SessionRecord(
            data["staff"], base64.b64decode(data["sealed"]), data["second_factor"],
            dt.datetime.fromisoformat(data["created"]), dt.datetime.fromisoformat(data["seen"]),
        )

    def delete(self, id_hash: bytes) -> None:
        self._redis.delete(self._key(id_hash))

    def delete_all_for(self, staff_member_id: int, *, keep: bytes | None = None) -> None:
        index = self._index(staff_member_id)
        for member in self._redis.smembers(index):
            hex_id = member.decode() if isinstance(member, bytes) else member
            if keep is not None and hex_id == keep.hex():
                continue
            self._redis.delete(self._prefix + hex_id)
            self._redis.srem(index, hex_id)

    def delete_expired(self, now: dt.datetime) -> int:
        return 0  # entries carry their own expiry; resume_session enforces the idle timeout


# --- what the web layer calls -----------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class OpenedSession:
    cookie_value: str
    id_hash: bytes


@dataclass(frozen=True, repr=False)
class ResumedSession:
    id_hash: bytes
    record: SessionRecord
    private_key: crypto.PrivateKey


def hash_session_id(session_id: bytes) -> bytes:
    """What a store keeps instead of the session id, so its copy yields no usable cookie."""
    return hashlib.sha256(b"portal staff session id\x00" + session_id).digest()


def new_session_secrets() -> tuple[str, bytes, bytes]:
    """A fresh session id and session key, and the cookie value that carries both."""
    session_id = crypto.random_secret(_ID_BYTES)
    session_key = crypto.random_secret(32)
    cookie = base64.urlsafe_b64encode(session_id + session_key).decode("ascii").rstrip("=")
    return cookie, session_id, session_key


def open_session(
    store: SessionStore,
    *,
    staff_member_id: int,
    private_key: crypto.PrivateKey,
    second_factor_done: bool,
    now: dt.datetime,
) -> OpenedSession:
    cookie, session_id, session_key = new_session_secrets()
    id_hash = hash_session_id(session_id)
    sealed = crypto.seal(session_key, private_key.to_bytes(), _PURPOSE + id_hash)
    store.save(id_hash, SessionRecord(staff_member_id, sealed, second_factor_done, now, now))
    return OpenedSession(cookie_value=cookie, id_hash=id_hash)


def split_cookie(cookie_value: str) -> tuple[bytes, bytes] | None:
    try:
        raw = base64.urlsafe_b64decode(cookie_value + "=" * (-len(cookie_value) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _ID_BYTES + 32:
        return None
    return raw[:_ID_BYTES], raw[_ID_BYTES:]


def resume_session(store: SessionStore, cookie_value: str | None, *, now: dt.datetime) -> ResumedSession | None:
    """Return the live session behind a cookie, touching it; None if absent, expired or forged."""
    parts = split_cookie(cookie_value or "")
    if parts is None:
        return None
    session_id, session_key = parts
    id_hash = hash_session_id(session_id)
    record = store.load(id_hash)
    if record is None:
        return None
    if now - record.last_seen_at > IDLE_TIMEOUT or now - record.created_at > ABSOLUTE_LIFETIME:
        store.delete(id_hash)
        return None
    try:
        key_bytes = crypto.open_sealed(session_key, record.sealed_private_key, _PURPOSE + id_hash)
    except crypto.CryptoError:
        return None
    if now - record.last_seen_at > _TOUCH_INTERVAL:  # spare the store a write on every request
        record = replace(record, last_seen_at=now)
        store.save(id_hash, record)
    return ResumedSession(id_hash=id_hash, record=record, private_key=crypto.PrivateKey.from_bytes(key_bytes))


def complete_second_factor(store: SessionStore, resumed: ResumedSession) -> None:
    store.save(resumed.id_hash, replace(resumed.record, second_factor_done=True))
