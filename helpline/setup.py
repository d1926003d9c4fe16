"""First start of a real install: the reference lists and one administrator, no demo data."""
from __future__ import annotations

from sqlalchemy import func, select

from .auth.models import User
from .auth.services import create_user
from .demo import seed_lookups, seed_response_type_fields
from .extensions import db
from .lookups.models import LookupItem
from .rules import RuleError


def setup(email: str, name: str, password: str, min_length: int = 12) -> tuple[User, int]:
    """Create the lookup lists (idempotent) and the first administrator; never commits.

    Refuses when the database already has users: accounts are then made in Admin → Users."""
    if db.session.scalar(select(func.count(User.id))):
        raise RuleError("This database already has users: setup only makes the first "
                        "administrator. Add people in Admin → Users.")
    before = db.session.scalar(select(func.count(LookupItem.id))) or 0
    seed_lookups()
    db.session.flush()
    seed_response_type_fields()
    db.session.flush()
    created = (db.session.scalar(select(func.count(LookupItem.id))) or 0) - before
    admin = create_user(email, name, "admin", password, min_length=min_length)
    return admin, created
