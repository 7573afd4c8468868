"""The review desk's accounts: users and roles, passwords, sign-in with throttling, sessions.

Rules:
- passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
  profile: 64 MiB, 3 passes), at least MIN_PASSWORD characters; a hash made with weaker
  parameters is replaced at the next sign-in;
- after FAILURES_ALLOWED failed sign-ins for one name, or from one address, within WINDOW, every
  attempt is refused for LOCKOUT after the last of them, even with the right password; the
  attempts are in the database, so the throttle holds across a restart and across processes;
- a session is a random token in the cookie and its SHA-256 in the database, with its own CSRF
  token; it ends at sign-out, after [web] session_hours, and when the password is reset;
- sign-ins, failures and every change to an account are logged (logger "monitor.desk"); a
  password never is.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from monitor import store
from monitor.errors import (
    InvalidChoice,
    InvalidInput,
    InvalidPassword,
    LastAdmin,
    SignInFailed,
    SignInThrottled,
    UserNotFound,
)
from monitor.models import ROLES, User
from monitor.text import one_line

log = logging.getLogger("monitor.desk")

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # hashing is the cost; an unbounded one would be a cheap way to load the server
FAILURES_ALLOWED = 5
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

_hasher = PasswordHasher()  # argon2id
# Verified against when the name is unknown, so a wrong name takes as long as a wrong password.
_UNKNOWN = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class DeskSession:
    """A signed-in browser: who, its CSRF token, when it ends."""

    user: User
    csrf: str
    expires: datetime


@dataclass(frozen=True)
class SignedIn:
    """A new session: `token` goes in the cookie (and only there)."""

    token: str
    session: DeskSession


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


# ---------------------------------------------------------------- accounts


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InvalidInput("name", "1 to 64 letters, digits and . _ @ + - (starting with a letter or digit), no spaces")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidChoice("role", role, ROLES)
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidPassword(f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidPassword(f"at most {MAX_PASSWORD} characters")
    return password


def add_user(engine: Engine, name: str, *, role: str, email: str, password: str, by: str, now: datetime) -> User:
    check_name(name)
    check_role(role)
    email = email.strip()
    if email and not EMAIL.fullmatch(email):
        raise InvalidInput("email", f"{email!r} is not an email address")
    user = store.add_user(
        engine, name=name, role=role, email=email, password_hash=_hasher.hash(check_password(password)), now=now
    )
    log.info("user added: %s (%s) by %s", name, role, by)
    return user


def users(engine: Engine) -> list[User]:
    return store.list_users(engine)


def remove_user(engine: Engine, name: str, *, by: str) -> None:
    user = _existing(engine, name)
    if user.role == "admin" and store.count_role(engine, "admin") == 1:
        raise LastAdmin(name)
    store.delete_user(engine, name)
    log.info("user removed: %s by %s", name, by)


def set_password(engine: Engine, name: str, password: str, *, by: str, now: datetime) -> None:
    """A new password; every session of the account ends."""
    _existing(engine, name)
    store.set_password_hash(engine, name, _hasher.hash(check_password(password)), now, end_sessions=True)
    log.info("password changed: %s by %s (their sessions ended)", name, by)


def set_role(engine: Engine, name: str, role: str, *, by: str) -> User:
    check_role(role)
    user = _existing(engine, name)
    if user.role == "admin" and role != "admin" and store.count_role(engine, "admin") == 1:
        raise LastAdmin(name)
    changed = store.set_role(engine, name, role)
    if changed is None:  # removed meanwhile
        raise UserNotFound(name)
    log.info("role changed: %s %s -> %s by %s", name, user.role, role, by)
    return changed


def _existing(engine: Engine, name: str) -> User:
    user = store.get_user(engine, name)
    if user is None:
        raise UserNotFound(name)
    return user


# ---------------------------------------------------------------- signing in


def sign_in(
    engine: Engine, name: str, password: str, *, address: str, now: datetime, hours: int, replaces: str = ""
) -> SignedIn:
    """A new session for a name and password, unless throttled. `replaces`: the browser's old
    session token, which ends (a session id is never carried across a sign-in)."""
    shown = one_line(name, 64)
    until = throttled_until(engine, name, address, now)
    if until is not None:
        log.warning("sign-in refused (throttled until %s): %r from %s", until.isoformat(), shown, address)
        raise SignInThrottled(until)
    found = store.password_hash(engine, name) if len(password) <= MAX_PASSWORD else None
    ok = _verify(found[1] if found else _UNKNOWN, password[:MAX_PASSWORD]) and found is not None
    store.add_attempt(engine, username=name.lower(), address=address, ok=ok, now=now)
    if not ok or found is None:
        log.warning("sign-in failed: %r from %s", shown, address)
        raise SignInFailed()
    user, hashed = found
    if _hasher.check_needs_rehash(hashed):
        store.set_password_hash(engine, name, _hasher.hash(password), now, end_sessions=False)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + timedelta(hours=hours)
    store.add_session(
        engine,
        token_hash=token_hash(token),
        user_id=user.id,
        csrf=csrf,
        now=now,
        expires=expires,
        replaces=token_hash(replaces) if replaces else "",
    )
    log.info("signed in: %s (%s) from %s", user.name, user.role, address)
    return SignedIn(token, DeskSession(user, csrf, expires))


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def throttled_until(engine: Engine, name: str, address: str, now: datetime) -> datetime | None:
    """When sign-ins for this name and from this address are allowed again; None: they are now."""
    since = now - WINDOW - LOCKOUT
    ends = [
        _lockout_end(store.attempts_since(engine, since, username=name.lower()), now),
        _lockout_end(store.attempts_since(engine, since, address=address), now),
    ]
    return max((e for e in ends if e is not None), default=None)


def _lockout_end(attempts: list[store.Attempt], now: datetime) -> datetime | None:
    """The end of a lockout in force: FAILURES_ALLOWED failures within WINDOW with no success
    between them lock for LOCKOUT after the last of them."""
    run: list[datetime] = []
    end = None
    for a in attempts:
        if a.ok:
            run = []
            continue
        run.append(a.at)
        recent = run[-FAILURES_ALLOWED:]
        if len(recent) == FAILURES_ALLOWED and recent[-1] - recent[0] <= WINDOW and now < recent[-1] + LOCKOUT:
            end = recent[-1] + LOCKOUT
    return end


def session(engine: Engine, token: str, now: datetime) -> DeskSession | None:
    """The live session a cookie's token opens, None when it has ended or never was."""
    if not token or len(token) > 200:
        return None
    found = store.get_session(engine, token_hash(token), now)
    if found is None:
        return None
    user, csrf, expires = found
    return DeskSession(user, csrf, expires)


def sign_out(engine: Engine, token: str, now: datetime) -> None:
    found = store.get_session(engine, token_hash(token), now)
    store.delete_session(engine, token_hash(token))
    if found is not None:
        log.info("signed out: %s", found[0].name)
