"""Users, teams, server-side sessions and sign-in attempts."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, db
from ..timeutil import utcnow

ROLES = ("volunteer", "supervisor", "data", "admin")
ROLE_LABELS = {
    "volunteer": "Volunteer",
    "supervisor": "Supervisor",
    "data": "Data team",
    "admin": "Administrator",
}

user_teams = Table(
    "user_teams",
    db.metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
)


class Team(Model):
    """A helpline team (e.g. Information Officers)."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    shift_start: Mapped[str | None] = mapped_column(String(5))  # "08:00", London time
    shift_end: Mapped[str | None] = mapped_column(String(5))
    region: Mapped[str | None] = mapped_column(String(40))  # region served
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def supervisors(self) -> list["User"]:
        """Team leaders: active members with the supervisor role."""
        return [m for m in self.members if m.active and m.role == "supervisor"]

    members: Mapped[list["User"]] = relationship(
        secondary=user_teams, back_populates="teams", order_by="User.name"
    )

    def __str__(self) -> str:
        return self.name


class User(UserMixin, Model):
    """A member of staff who signs in."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="volunteer")
    frontline_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    # Data-team lead: may download any export (others only their own); set by an admin.
    data_lead: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Morning reviewer: opens the Morning Review (complaints, interventions…) without the
    # supervisor role (seed 000: a volunteer and a data-team member check it too); set by an admin.
    morning_reviewer: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=false())
    language: Mapped[str] = mapped_column(String(40), default="English (UK)")
    default_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    latest_authentication: Mapped[datetime | None] = mapped_column(DateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A password an administrator set (or `setup` asked for) is temporary.
    password_must_change: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Second factor (TOTP): the secret, when it was confirmed, and the last time step
    # used (a code is accepted once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Extension or phone login the phone system names them by (telephony screen-pop)
    phone_login: Mapped[str | None] = mapped_column(String(120), index=True)

    teams: Mapped[list[Team]] = relationship(
        secondary=user_teams, back_populates="members", order_by="Team.name"
    )
    default_team: Mapped[Team | None] = relationship(foreign_keys=[default_team_id])

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated users cannot sign in
        return bool(self.active)

    @property
    def role_label(self) -> str:
        """The role as people say it."""
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def reviews_mornings(self) -> bool:
        """Whether the user may open the Morning Review (supervisors and morning reviewers)."""
        return bool(self.active and (self.has_role("supervisor") or self.morning_reviewer))

    def has_role(self, *roles: str) -> bool:
        """True if the user holds one of the roles; administrators hold every role."""
        return self.role == "admin" or self.role in roles

    def __str__(self) -> str:
        return self.name


class UserSession(Model):
    """A signed-in session held on the server; the cookie only carries its id."""

    __tablename__ = "user_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    # A step still owed before the session is signed in: "totp" (code), "password"
    # (temporary password to change), "totp-setup"; None once fully signed in.
    pending: Mapped[str | None] = mapped_column(String(20))
    second_factor_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class RecoveryCode(Model):
    """A one-time recovery code for the second factor, stored hashed."""

    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoginThrottle(Model):
    """Failed sign-ins per account or per address, updated by one atomic statement each."""

    __tablename__ = "login_throttles"
    key: Mapped[str] = mapped_column(String(320), primary_key=True)  # "account:…"/"address:…"
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_allowed_at: Mapped[datetime] = mapped_column(DateTime)


class LoginAttempt(Model):
    """One sign-in attempt, kept to throttle guessing per account and per address."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    success: Mapped[bool] = mapped_column(Boolean, default=False)
