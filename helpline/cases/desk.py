"""The service-desk flow on a case: assign → acknowledge → resolve → close."""
from __future__ import annotations

from flask import url_for

from .. import audit
from ..auth.models import Team, User
from ..extensions import db
from ..mailer import queue_mail
from ..notifications.services import notify, notify_team
from .models import Case
from .services import CaseError, change_owner, set_status


def _link(case: Case) -> str:
    return url_for("cases.show", case_id=case.id)


def assign(case: Case, assignee: User | Team, actor: User, base_url: str) -> None:
    """Assign to a handler (notification + email) or a team queue (team notification)."""
    title = f"You have been assigned to the Helpline Case {case.reference}"
    if isinstance(assignee, Team):
        before = case.team.name if case.team else None
        case.team_id, case.assignee_id = assignee.id, None
        audit.record(actor, "assign", "case", case.reference,
                     changes={"Team": (before, assignee.name)})
        notify_team(assignee, f"Case {case.reference} assigned to {assignee.name}",
                    case.title, _link(case), kind="assignment")
    else:
        before = case.assignee.name if case.assignee else None
        owner_before = case.owner.name if case.owner else None
        case.assignee_id = assignee.id
        audit.record(actor, "assign", "case", case.reference,
                     changes={"Assigned to": (before, assignee.name),
                              "Owner": (owner_before, assignee.name)})
        change_owner(case, assignee.id, actor)  # call backs and reminders follow the case
        notify([assignee], title, case.title, _link(case), kind="assignment")
        queue_mail(assignee.email, title,
                   f"Dear {assignee.name},\n\nYou have been assigned to the Helpline Case "
                   f"{case.reference}: {case.title}.\n\nView Helpline Case: {base_url}"
                   f"{_link(case)}\n",
                   key=f"case-assign-{case.id}-{assignee.id}-{case.version}")
    set_status(case, "Assigned", actor)


def acknowledge(case: Case, actor: User) -> None:
    """The assignee (or a team member for a team queue) takes the case on."""
    if case.status != "Assigned":
        raise CaseError("Only an assigned case can be acknowledged")
    if case.assignee_id and case.assignee_id != actor.id:
        raise CaseError(f"Only {case.assignee.name} can acknowledge this case")
    if case.assignee_id is None:
        case.assignee_id = actor.id
    if case.owner_id != actor.id:
        audit.record(actor, "acknowledge", "case", case.reference,
                     changes={"Owner": (case.owner.name if case.owner else None, actor.name)})
    change_owner(case, actor.id, actor)
    set_status(case, "Acknowledged", actor)


def resolve(case: Case, solution: str, cause: str, actor: User) -> None:
    """Resolve with Solution and Cause → Solved."""
    if not (solution or "").strip():
        raise CaseError("Enter the Solution", field="solution")
    if not (cause or "").strip():
        raise CaseError("Enter the Cause", field="cause")
    if case.status in ("Solved", "Closed"):
        raise CaseError(f"The case is already {case.status}")
    changes = audit.diff(case, {"solution": solution.strip(), "cause": cause.strip()})
    audit.record(actor, "resolve", "case", case.reference,
                 changes={k.title(): v for k, v in changes.items()})
    set_status(case, "Solved", actor)


def close(case: Case, actor: User, quick: bool = False) -> None:
    """Close a case; Quick Close is for the owner once it is Solved."""
    if quick and (case.status != "Solved" or case.owner_id != actor.id):
        raise CaseError("Quick Close is for the case owner once the case is Solved")
    if case.status == "Closed":
        raise CaseError("The case is already closed")
    set_status(case, "Closed", actor, reason="Quick Close" if quick else None)
