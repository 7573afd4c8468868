"""The review desk's accounts, their sessions and the sign-in attempts.

A session row is keyed by the SHA-256 of the cookie's token, never the token: a copy of the
database opens no session. Sign-in attempts are kept a day, for throttling (shared by every
process on the database: the daemon's desk and `serve`) and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError

from monitor.errors import UserExists
from monitor.models import User
from monitor.store.schema import inserted_id, login_attempts, sessions, users

ATTEMPTS_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class Attempt:
    at: datetime
    ok: bool


def _user(r: Row) -> User:
    return User(
        id=r.id,
        name=r.name,
        role=r.role,
        email=r.email,
        created_at=r.created_at,
        password_changed_at=r.password_changed_at,
    )


def add_user(engine: Engine, *, name: str, role: str, email: str, password_hash: str, now: datetime) -> User:
    try:
        with engine.begin() as conn:
            uid = inserted_id(
                conn.execute(
                    insert(users).values(
                        name=name,
                        role=role,
                        email=email,
                        password_hash=password_hash,
                        created_at=now,
                        password_changed_at=now,
                    )
                )
            )
    except IntegrityError:
        raise UserExists(name) from None
    return User(uid, name, role, email, now, now)


def get_user(engine: Engine, name: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).first()
    return _user(row) if row else None


def password_hash(engine: Engine, name: str) -> tuple[User, str] | None:
    """An account and its password hash, for signing in."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).first()
    return (_user(row), row.password_hash) if row else None


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(select(users).order_by(users.c.name))]


def count_role(engine: Engine, role: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(users).where(users.c.role == role)).scalar_one()


def delete_user(engine: Engine, name: str) -> bool:
    """The account and its sessions; False when there is none."""
    with engine.begin() as conn:
        uid = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
        if uid is None:
            return False
        conn.execute(delete(sessions).where(sessions.c.user_id == uid))
        conn.execute(delete(users).where(users.c.id == uid))
    return True


def set_password_hash(engine: Engine, name: str, password_hash: str, now: datetime, *, end_sessions: bool) -> bool:
    """A new password hash; `end_sessions`: every session of the account ends (a reset password
    must lock out whoever knew the old one). False when there is no such account."""
    with engine.begin() as conn:
        uid = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
        if uid is None:
            return False
        conn.execute(
            update(users).where(users.c.id == uid).values(password_hash=password_hash, password_changed_at=now)
        )
        if end_sessions:
            conn.execute(delete(sessions).where(sessions.c.user_id == uid))
    return True


def set_role(engine: Engine, name: str, role: str) -> User | None:
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.name == name).values(role=role))
        row = conn.execute(select(users).where(users.c.name == name)).first()
    return _user(row) if row else None


# ---------------------------------------------------------------- sessions


def add_session(
    engine: Engine, *, token_hash: str, user_id: int, csrf: str, now: datetime, expires: datetime, replaces: str = ""
) -> None:
    """A new session; the one it `replaces` (the browser's old cookie) and every expired one end."""
    with engine.begin() as conn:
        conn.execute(delete(sessions).where(or_(sessions.c.expires_at <= now, sessions.c.id == replaces)))
        conn.execute(
            insert(sessions).values(id=token_hash, user_id=user_id, created_at=now, expires_at=expires, csrf=csrf)
        )


def get_session(engine: Engine, token_hash: str, now: datetime) -> tuple[User, str, datetime] | None:
    """The account, CSRF token and end of a live session; None when it has ended or never was."""
    q = (
        select(users, sessions.c.csrf, sessions.c.expires_at)
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.id == token_hash, sessions.c.expires_at > now)
    )
    with engine.connect() as conn:
        row = conn.execute(q).first()
    return (_user(row), row.csrf, row.expires_at) if row else None


def delete_session(engine: Engine, token_hash: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(sessions).where(sessions.c.id == token_hash))


# ---------------------------------------------------------------- sign-in attempts


def add_attempt(engine: Engine, *, username: str, address: str, ok: bool, now: datetime) -> None:
    """One sign-in attempt; those older than a day are dropped on the way."""
    with engine.begin() as conn:
        conn.execute(delete(login_attempts).where(login_attempts.c.at < now - ATTEMPTS_KEPT))
        conn.execute(insert(login_attempts).values(at=now, username=username[:200], address=address[:64], ok=ok))


def attempts_since(engine: Engine, since: datetime, *, username: str = "", address: str = "") -> list[Attempt]:
    """The attempts for one name or from one address since a time, oldest first."""
    column, value = (login_attempts.c.username, username[:200]) if username else (login_attempts.c.address, address)
    q = (
        select(login_attempts.c.at, login_attempts.c.ok)
        .where(column == value, login_attempts.c.at >= since)
        .order_by(login_attempts.c.at, login_attempts.c.id)
    )
    with engine.connect() as conn:
        return [Attempt(r.at, bool(r.ok)) for r in conn.execute(q)]
