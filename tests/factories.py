"""Factories that build records through the same services the app uses."""
from __future__ import annotations

import itertools
from functools import lru_cache

from helpline.auth.models import User
from helpline.auth.services import create_user, hash_password
from helpline.extensions import db

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return hash_password(PASSWORD)  # hashing is slow on purpose: do it once


def make_user(role: str = "volunteer", email: str | None = None, name: str | None = None,
              team: str | None = "Information Officers", active: bool = True) -> User:
    """Create and commit a user whose password is PASSWORD."""
    n = next(_seq)
    user = create_user(email or f"user{n}@example.org", name or f"Test User {n}", role, "",
                       team=team, password_hash=_password_hash())
    user.active = active
    db.session.commit()
    return user
