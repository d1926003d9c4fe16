"""Functionally Unique call backs (steps 22–26): a proforma mailed to a specialist team
(kept by administrators as a list with mailboxes), tracked on the case until done."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .. import audit
from ..auth.models import User
from ..cases.models import Case
from ..extensions import db
from ..lookups.models import LookupItem, offered
from ..mail_texts import render_mail
from ..mailer import queue_mail
from ..rules import RuleError
from ..timeutil import utcnow
from .models import UNIQUE_DONE, UNIQUE_SENT, UniqueCallBack

TEAM_LIST = "functionally_unique_team"


@dataclass
class Proforma:
    """What the caseworker fills in (step 25)."""

    team_id: int | None
    contact_number: str
    time_preferences: str
    reason: str


def teams() -> list[LookupItem]:
    """The specialist teams offered (administrators keep the list and their mailboxes)."""
    return [t for t in offered(TEAM_LIST) if t.mailbox]


def _team(team_id: int | None) -> tuple[LookupItem, str]:
    """The chosen specialist team and its mailbox (refused unless it is live and has one)."""
    team = db.session.get(LookupItem, team_id) if team_id else None
    if team is None or team.list_name != TEAM_LIST or team.retired or not team.mailbox:
        raise RuleError("Choose the Functionally Unique team to send the proforma to",
                           field="team_id")
    return team, team.mailbox


def send(case: Case, form: Proforma, actor: User, case_link: str) -> UniqueCallBack:
    """Record the proforma on the case and mail it to the team (through the outbox)."""
    team, mailbox = _team(form.team_id)
    fu = UniqueCallBack(case=case, team=team, sent_to=mailbox,
                        contact_number=form.contact_number.strip(),
                        time_preferences=form.time_preferences.strip(),
                        reason=form.reason.strip(), created_by_id=actor.id)
    db.session.add(fu)
    db.session.flush()
    audit.record(actor, "create", "functionally unique call back", fu.id, changes={
        "Case": (None, case.reference), "Team": (None, team.name),
        "Contact number": (None, fu.contact_number)})
    subject, body = render_mail("unique_proforma", case=case, proforma=fu, sent_by=actor,
                                link=case_link)
    queue_mail(mailbox, subject, body, key=f"fu-callback-{fu.id}")
    return fu


def mark_done(fu: UniqueCallBack, actor: User) -> None:
    """The specialist team has made the call back: it leaves the case's open list."""
    if fu.status == UNIQUE_DONE:
        return
    audit.record(actor, "update", "functionally unique call back", fu.id,
                 changes={"Status": (fu.status, UNIQUE_DONE)})
    fu.status, fu.done_at, fu.done_by_id = UNIQUE_DONE, utcnow(), actor.id


def open_for_case(case_id: int) -> list[UniqueCallBack]:
    """The case's Functionally Unique call backs not yet done, oldest first."""
    return list(db.session.scalars(select(UniqueCallBack).where(
        UniqueCallBack.case_id == case_id, UniqueCallBack.status == UNIQUE_SENT)
        .order_by(UniqueCallBack.created_at)))
