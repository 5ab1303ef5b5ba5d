"""API keys: created hashed, looked up by id, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import select

from grader.services.errors import Invalid, NotFound, Unauthorized
from grader.store import Database
from grader.store.models import ApiKey, Exam, ExamAudience, ExamGrant, utcnow
from grader.store.times import aware

Role = Literal["admin", "instructor", "student", "lms"]
ROLES: tuple[str, ...] = ("admin", "instructor", "student", "lms")
TOKEN_PREFIX = "grd"  # noqa: S105 - a public prefix, not a secret
_DURATION = re.compile(r"([0-9]{1,9})([dhms]?)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class Actor:
    """Who is calling: resolved from the bearer key, never from the request body."""

    key_id: str
    role: str
    student_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_author(self) -> bool:
        return self.role in ("admin", "instructor")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    db: Database,
    role: str,
    *,
    student_id: str | None = None,
    name: str = "",
    exams: list[str] | None = None,
    expires_in: timedelta | None = None,
) -> tuple[str, str]:
    """Create an API key; returns (key id, token). The token is shown once, stored hashed.
    `exams` grants an `lms` key the exams it submits for, a `student` key the exams it may
    read and submit to; `expires_in` makes the key stop working after that long."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    if role == "student" and not student_id:
        raise Invalid("a student key needs --student-id")
    if role != "student" and student_id:
        raise Invalid("only student keys are bound to a student id")
    secret = secrets.token_urlsafe(32)
    with db.session() as session:
        wanted = sorted(set(exams or []))
        known = (
            set(session.scalars(select(Exam.id).where(Exam.id.in_(wanted)))) if wanted else set()
        )
        missing = [e for e in wanted if e not in known]
        if missing:
            raise NotFound(f"no exam {', '.join(repr(e) for e in missing)}; upload it first")
        expires = utcnow() + expires_in if expires_in is not None else None
        key = ApiKey(
            secret_hash=_hash(secret),
            role=role,
            student_id=student_id,
            name=name,
            expires_at=expires,
        )
        session.add(key)
        session.flush()
        for exam_id in wanted:
            session.add(ExamGrant(api_key_id=key.id, exam_id=exam_id))
        key_id = key.id
    return key_id, f"{TOKEN_PREFIX}_{key_id}_{secret}"


def authenticate(db: Database, authorization: str | None) -> Actor:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    token = authorization.removeprefix("Bearer ").strip()
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise Unauthorized("malformed token")
    _, key_id, secret = parts
    with db.session() as session:
        key = session.get(ApiKey, key_id)
        # Compare a hash even for unknown ids so timing says nothing about which ids exist.
        expected = key.secret_hash if key else _hash("")
        ok = hmac.compare_digest(expected, _hash(secret))
        if key is None or not ok:
            raise Unauthorized("invalid or revoked token")
        return _usable(key)


def actor_for_key(db: Database, key_id: str) -> Actor:
    """The actor of a key already authenticated once (a browser session holds its id): the
    key must still exist, not be revoked and not have expired."""
    with db.session() as session:
        key = session.get(ApiKey, key_id)
        if key is None:
            raise Unauthorized("invalid or revoked token")
        return _usable(key)


def _usable(key: ApiKey) -> Actor:
    """One rule for every way in (bearer token or browser session): revoked or expired keys
    are refused."""
    if key.revoked_at is not None:
        raise Unauthorized("invalid or revoked token")
    if key.expires_at is not None and aware(key.expires_at) <= utcnow():
        raise Unauthorized("the token has expired")
    return Actor(key_id=key.id, role=key.role, student_id=key.student_id)


def parse_duration(text: str) -> timedelta:
    """`90d`, `12h`, `30m`, `45s` or plain seconds -> a positive timedelta."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) <= 0:
        raise Invalid(f"cannot read {text!r} as a duration (e.g. 90d, 12h, 30m)")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2) or "s"])


def may_take_exam(db: Database, actor: Actor, exam_id: str) -> bool:
    """A student key reaches an exam it is granted, or whose roster names its student."""
    if actor.role != "student":
        return True
    with db.session() as session:
        granted = session.get(ExamGrant, (actor.key_id, exam_id)) is not None
        listed = (
            actor.student_id is not None
            and session.get(ExamAudience, (exam_id, actor.student_id)) is not None
        )
        return granted or listed


def revoke_token(db: Database, key_id: str) -> bool:
    with db.session() as session:
        key = session.get(ApiKey, key_id)
        if key is None or key.revoked_at is not None:
            return False
        key.revoked_at = utcnow()
        return True


def granted_exams(db: Database, key_id: str) -> set[str]:
    with db.session() as session:
        rows = session.scalars(select(ExamGrant.exam_id).where(ExamGrant.api_key_id == key_id))
        return set(rows)
