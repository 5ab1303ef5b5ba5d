"""Sessions of the pages: an API key typed once at /ui/login becomes a signed session cookie
(HttpOnly, SameSite=Lax, Secure over TLS) holding only the key's id, checked against the
database on every request (a revoked key logs its sessions out). CSRF: a random token per
session, required in every POST form."""

from __future__ import annotations

import hmac
import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, request, session
from flask.sessions import SecureCookieSessionInterface

from grader.services.auth import Actor, actor_for_key
from grader.services.errors import ServiceError, Unauthorized
from grader.store import Database

SESSION_HOURS = 8  # a working day of reviewing; then the key is asked for again
COOKIE = "grader_ui"
SECRET_FILE = "ui-session.key"  # noqa: S105 - a file name, not a secret


class CsrfFailed(ServiceError):
    status = 400
    title = "Bad Request"


class TlsAwareSessions(SecureCookieSessionInterface):
    """`Secure` when the request came over TLS (behind a proxy: with ProxyFix), so the same
    app works on http://127.0.0.1 and behind HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        req: Request = request
        return bool(req.is_secure)


def session_secret(data_dir: str) -> bytes:
    """The signing key of session cookies: random, made once per data directory (0600), so
    every process of one deployment shares it and a restart keeps people logged in."""
    path = Path(data_dir) / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
        raise RuntimeError(f"{path} is too short; delete it to make a new one") from None
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def init_sessions(app: Flask, data_dir: str) -> None:
    app.secret_key = session_secret(data_dir)
    app.session_interface = TlsAwareSessions()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/ui",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    want = session.get("csrf")
    if not isinstance(want, str) or not hmac.compare_digest(sent.encode(), want.encode()):
        raise CsrfFailed("the form has expired or did not come from this site; reload the page")


def log_in(actor: Actor) -> None:
    session.clear()  # a fresh session (and CSRF token) at every login: no fixation
    session.permanent = True
    session["key"] = actor.key_id
    session["at"] = int(time.time())
    csrf_token()


def log_out() -> None:
    session.clear()


def current_actor(db: Database) -> Actor:
    """The logged-in key, or Unauthorized (no session, expired, key revoked)."""
    key_id, at = session.get("key"), session.get("at")
    if not isinstance(key_id, str) or not isinstance(at, int):
        raise Unauthorized("please log in")
    if time.time() - at > SESSION_HOURS * 3600:
        session.clear()
        raise Unauthorized("the session has expired; please log in again")
    try:
        return actor_for_key(db, key_id)
    except Unauthorized:
        session.clear()
        raise Unauthorized(
            "this key was revoked or has expired; please log in with another"
        ) from None
