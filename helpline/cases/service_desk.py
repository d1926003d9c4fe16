"""The service-desk flow on a case: assign → acknowledge → resolve → close."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import ColumnElement

from .. import audit
from ..auth.models import Team, User
from ..extensions import db
from ..mail_texts import render_mail
from ..mailer import queue_mail
from ..notifications.services import notify, notify_team
from ..numbers import whole_number
from ..rules import RuleError
from .models import Case
from .services import change_owner, set_status, touch

CASE_HANDLER_ROLES = ("volunteer", "supervisor", "data")  # an admin-only account handles none


def handles_cases(user: User) -> bool:
    """Whether a case can be assigned to or owned by `user`: active staff who handle cases."""
    return bool(user.active and user.role in CASE_HANDLER_ROLES)


def handles_cases_where() -> ColumnElement[bool]:
    """`handles_cases` as a WHERE clause (the Assign and Change owner choices)."""
    return User.active.is_(True) & User.role.in_(CASE_HANDLER_ROLES)


def assignee_for(value: str | None) -> User | Team:
    """The handler ("user-N") or team ("team-N") the Assign form names."""
    kind, _, ident = (value or "").partition("-")
    number = whole_number(ident)
    target: User | Team | None = None
    if number is not None and kind == "user":
        target = db.session.get(User, number)
    elif number is not None and kind == "team":
        target = db.session.get(Team, number)
    if target is None:
        raise RuleError("Choose a handler or a team to assign the case to", field="assignee")
    return target


def owner_for(value: str | None) -> User:
    """The handler the Change owner form names."""
    number = whole_number(value)
    user = db.session.get(User, number) if number is not None else None
    if user is None:
        raise RuleError("Choose the new owner", field="owner")
    return user


def in_team_queue(case: Case, user: User) -> bool:
    """The case waits, open and unacknowledged, in one of the user's teams' queue (HEAT's
    Call Group): assigned to the team, no one has taken it on yet. Then every member may
    pick it up; once someone acknowledges it, it is theirs (see access.owner_access)."""
    return (case.status == "Assigned" and case.assignee_id is None and case.team_id is not None
            and case.team_id in {t.id for t in user.teams})


def _link(case: Case) -> str:
    return url_for("cases.show", case_id=case.id)


def _assigned_to(case: Case, status: str = "Assigned") -> str | None:
    """Who the case is with, as the history says it: a handler, or a team's queue."""
    if case.assignee_id is not None:
        return db.session.get(User, case.assignee_id).name  # type: ignore[union-attr]
    if case.team_id is not None and status == "Assigned":
        return f"{db.session.get(Team, case.team_id).name} queue"  # type: ignore[union-attr]
    return None


def _record_assignment(actor: User, case: Case, changes: dict) -> None:
    """Only what changed (re-opening a Solved case for its own assignee changes only the
    status, which set_status records): never an empty line in the history."""
    changed = {field: pair for field, pair in changes.items() if pair[0] != pair[1]}
    if changed:
        audit.record(actor, "assign", "case", case.reference, changes=changed)


def _refuse_unchanged(case: Case, assignee: User | Team) -> None:
    """Assigning a case to whom it is already assigned changes nothing: say so at the field
    (it used to write an empty line into the history)."""
    if case.status != "Assigned":
        return
    if isinstance(assignee, Team) and case.assignee_id is None and case.team_id == assignee.id:
        raise RuleError(f"The case is already in the {assignee.name} queue", field="assignee")
    if isinstance(assignee, User) and case.assignee_id == assignee.id:
        raise RuleError(f"The case is already assigned to {assignee.name}", field="assignee")


def assign(case: Case, assignee: User | Team, actor: User, base_url: str) -> None:
    """Assign to a handler (notification + email) or a team queue (team notification). The
    owner stays the owner (HEAT: owner and assignee are separate people), so the case's call
    backs stay with the owner too (they follow the owner: see callbacks.move_with_case)."""
    refusal = desk_refusal(case, actor)
    if refusal:
        raise RuleError(refusal)
    if case.status == "Closed":
        raise RuleError("The case is closed: it cannot be assigned")
    if isinstance(assignee, User) and not handles_cases(assignee):
        raise RuleError(f"{assignee.name} does not handle cases (an inactive or "
                        "administrator-only account): choose an active handler or a team",
                        field="assignee")
    _refuse_unchanged(case, assignee)
    before = _assigned_to(case, case.status)
    if isinstance(assignee, Team):
        team_before = case.team.name if case.team else None
        case.team_id, case.assignee_id = assignee.id, None
        _record_assignment(actor, case, {"Team": (team_before, assignee.name),
                                          "Assigned to": (before, _assigned_to(case))})
        notify_team(assignee, f"Case {case.reference} assigned to {assignee.name}",
                    case.title, _link(case), kind="assignment")
    else:
        case.assignee_id = assignee.id
        _record_assignment(actor, case, {"Assigned to": (before, assignee.name)})
        subject, body = render_mail("case_assigned", case=case, assignee=assignee,
                                    caller_name=case.caller.full_name,
                                    link=f"{base_url}{_link(case)}")
        notify([assignee], subject, f"{case.title} · Caller: {case.caller.full_name}",
               _link(case), kind="assignment")
        queue_mail(assignee.email, subject, body,
                   key=f"case-assign-{case.id}-{assignee.id}-{case.version}")
    touch(case, actor)  # a re-assignment is a change too (an accepted case goes back)
    set_status(case, "Assigned", actor)


def hand_over(case: Case, new_owner: User, actor: User) -> None:
    """Give the case to a new owner (its owner or a supervisor does): the owner's call backs
    and reminders follow the case (the callbacks domain listens to `owner_changed`)."""
    if not (actor.has_role("supervisor") or actor.id == case.owner_id):
        who = case.owner.name if case.owner else "its owner"
        raise RuleError(f"Only {who} or a supervisor can change the owner of this case.")
    if not handles_cases(new_owner):
        raise RuleError(f"{new_owner.name} does not handle cases (an inactive or "
                        "administrator-only account): choose an active handler to own the case",
                        field="owner")
    if new_owner.id == case.owner_id:
        raise RuleError(f"{new_owner.name} already owns the case", field="owner")
    before = case.owner.name if case.owner else None
    audit.record(actor, "change-owner", "case", case.reference,
                 changes={"Owner": (before, new_owner.name)})
    change_owner(case, new_owner.id, actor)
    notify([new_owner], f"You now own Case {case.reference}", case.title, _link(case),
           kind="assignment")
    touch(case, actor)


def desk_refusal(case: Case, user: User) -> str | None:
    """Why `user` may not assign or resolve the case (None: they may): the service desk of
    a case is its owner's, its assignee's (a team queue's members') or a supervisor's."""
    if user.has_role("supervisor") or user.id in (case.owner_id, case.assignee_id):
        return None
    if in_team_queue(case, user):
        return None
    who = " or ".join(p.name for p in (case.owner, case.assignee) if p) or "its owner"
    return (f"Only {who} or a supervisor can assign or resolve this case. You can still "
            "add notes and call backs.")


def acknowledge_refusal(case: Case, user: User) -> str | None:
    """Why `user` may not acknowledge the case (None: they may): it is the assignee's, or
    for a team queue a member's (or a supervisor's) to take on."""
    if case.assignee_id:
        if case.assignee_id != user.id:
            assert case.assignee is not None  # the foreign key: assignee_id names a user
            return f"Only {case.assignee.name} can acknowledge this case: it is assigned to them."
    elif case.team_id and case.team_id not in {t.id for t in user.teams} \
            and not user.has_role("supervisor"):
        assert case.team is not None  # the foreign key: team_id names a team
        return (f"Only a member of {case.team.name} (or a supervisor) can acknowledge this "
                "case: it is in their queue.")
    return None


def close_refusal(case: Case, user: User, quick: bool) -> str | None:
    """Why `user` may not close the case (None: they may). HEAT's rule (seed 003): once
    Solved, the owner closes it and the assignee may Quick Close; a supervisor may close a
    case at any stage (giving a reason: see `close`)."""
    if user.has_role("supervisor"):
        return None
    return owners_close_refusal(case, user, quick)


def owners_close_refusal(case: Case, user: User, quick: bool) -> str | None:
    """The rule for everyone but supervisors: the owner (or, by Quick Close, the assignee)
    closes a Solved case."""
    people = ({case.owner_id, case.assignee_id} if quick else {case.owner_id}) - {None}
    if user.id not in people:
        who = " or ".join(p.name for p in ((case.owner, case.assignee) if quick
                                           else (case.owner,)) if p) or "its owner"
        return f"Only {who} or a supervisor can close this case."
    if case.status not in ("Solved", "Closed"):
        return (f"Resolve the case first (Solution and Cause): it is {case.status}. Its owner "
                "can close it once it is Solved; a supervisor can close it at any stage.")
    return None


def acknowledge(case: Case, actor: User) -> None:
    """The assignee (or a team member for a team queue) takes the case on; the owner stays."""
    if case.status != "Assigned":
        raise RuleError(f"Only an assigned case can be acknowledged (this one is {case.status})")
    refusal = acknowledge_refusal(case, actor)
    if refusal:
        raise RuleError(refusal)
    if case.assignee_id is None:  # taken from the team queue
        case.assignee_id = actor.id
        audit.record(actor, "acknowledge", "case", case.reference,
                     changes={"Assigned to": (None, actor.name)})
    set_status(case, "Acknowledged", actor)


def resolve(case: Case, solution: str, cause: str, actor: User) -> None:
    """Resolve with Solution and Cause → Solved."""
    refusal = desk_refusal(case, actor)
    if refusal:
        raise RuleError(refusal)
    if not (solution or "").strip():
        raise RuleError("Enter the Solution", field="solution")
    if not (cause or "").strip():
        raise RuleError("Enter the Cause", field="cause")
    if case.status in ("Solved", "Closed"):
        raise RuleError(f"The case is already {case.status}")
    changes = audit.diff(case, {"solution": solution.strip(), "cause": cause.strip()})
    audit.record(actor, "resolve", "case", case.reference,
                 changes={k.title(): v for k, v in changes.items()})
    set_status(case, "Solved", actor)


def close(case: Case, actor: User, quick: bool = False, reason: str | None = None) -> None:
    """Close a case: its owner (Quick Close: or its assignee) once it is Solved; a
    supervisor at any stage, giving a reason when the owner's rule would not let them."""
    if case.status == "Closed":
        raise RuleError("The case is already closed")
    if quick and (case.status != "Solved" or actor.id not in (case.owner_id,
                                                              case.assignee_id)):
        raise RuleError("Quick Close is for the case owner or its assignee once the case is "
                        "Solved")
    refusal = close_refusal(case, actor, quick)
    if refusal:
        raise RuleError(refusal)
    reason = (reason or "").strip() or None
    if owners_close_refusal(case, actor, quick) and not reason:
        raise RuleError(f"Enter the reason for closing: the case is {case.status} and a "
                        "supervisor closing it says why", field="reason")
    set_status(case, "Closed", actor, reason="Quick Close" if quick else reason)
