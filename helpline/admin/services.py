"""Admin changes to teams and users: each checks its rules (RuleError at the field it
concerns), records the audit entry, and never commits."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from .. import audit
from ..auth import services as auth_services
from ..auth.models import Team, User
from ..extensions import db
from ..rules import RuleError


def save_team(team: Team | None, values: Mapping[str, Any], actor: User) -> Team:
    """Add a team (team None) or change one; a name another team has is refused."""
    clash = db.session.scalar(select(Team.id).where(
        func.lower(Team.name) == values["name"].lower()))
    if clash and (team is None or clash != team.id):
        raise RuleError(f"There is already a team called {values['name']}", field="name")
    if team is None:
        team = Team(**values)
        db.session.add(team)
        db.session.flush()
        audit.record(actor, "create", "team", team.id, changes={"Name": (None, team.name)})
    else:
        audit.record(actor, "update", "team", team.id, changes=audit.diff(team, values))
    return team


def _field_of(message: str) -> str:
    """Which field of the new-user form a message from auth's create_user is about."""
    low = message.lower()
    for needle, field in (("password", "password"), ("email", "email"), ("role", "role")):
        if needle in low:
            return field
    return "name"


def create_user(values: Mapping[str, Any], actor: User, min_length: int) -> User:
    """Create a user with a temporary password (changed at first sign-in)."""
    try:
        user = auth_services.create_user(
            values["email"], values["name"], values["role"], values["password"],
            team=values["team"] or None, actor=actor, min_length=min_length)
    except RuleError as exc:
        if exc.field:
            raise
        raise RuleError(str(exc), field=_field_of(str(exc)), status=exc.status) from exc
    user.frontline_operator = bool(values["frontline_operator"])
    user.data_lead = bool(values["data_lead"])
    return user


def update_user(user: User, values: Mapping[str, Any], team_ids: Sequence[str],
                default_team: str | None, password: str | None, actor: User,
                min_length: int) -> None:
    """Change a user's details and teams (audited); a password given is set, temporary."""
    # checked against the name being saved too (set_password checks the new one)
    problem = password and auth_services.passwords.problem(
        password, min_length, ("helpline", user.email, user.name, values.get("name") or ""))
    if problem:
        raise RuleError(problem, field="password")
    login = (values.get("phone_login") or "").strip()
    if login:  # the phone system names who answered by it: one person each
        other = db.session.scalar(select(User).where(
            func.lower(User.phone_login) == login.lower(), User.id != user.id).limit(1))
        if other is not None:
            raise RuleError(f"{login} is already {other.name}'s extension or phone login",
                            field="phone_login")
    teams = db.session.scalars(select(Team).order_by(Team.name))
    chosen = [t for t in teams if str(t.id) in team_ids]
    default = next((t for t in chosen if str(t.id) == default_team), None)
    changes = audit.diff(user, {**values, "default_team_id": default.id if default else None})
    before = ", ".join(t.name for t in user.teams)
    user.teams = chosen
    after = ", ".join(t.name for t in chosen)
    if before != after:
        changes["teams"] = (before, after)
    audit.record(actor, "update", "user", user.id, changes=changes)
    if password:  # temporary: the user chooses their own at next sign-in
        auth_services.set_password(user, password, actor, min_length)
