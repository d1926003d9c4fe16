"""Local Referrals routed: when the data team accepts a case, each referral not sent yet is
mailed (once) to the local team serving the beneficiary's region, or waits for one; it is
then marked Actioned by the data team, or by the team through the signed one-use link in
that mail. Every step is audited on the case; nothing here commits."""
from __future__ import annotations

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from .. import audit
from ..auth.models import User
from ..cases.models import (
    ACCEPTED,
    ACTIONED,
    AWAITING_TEAM,
    DECLINED,
    NOT_SENT,
    SENT,
    Case,
    CaseNote,
    Referral,
)
from ..cases.signals import case_accepted
from ..contacts.models import Contact
from ..extensions import AnySession, db, rowcount
from ..knowledge.models import LocalTeam, LocalTeamRegion
from ..lookups.models import fields_for
from ..mail_texts import render_mail
from ..mailer import queue_mail
from ..rules import RuleError
from ..timeutil import utcnow

TOKEN_SALT = "local-referral-actioned"
TOKEN_MAX_AGE = 90 * 24 * 3600  # a team may take weeks; the link works once in any case
FREE_TEXT_MAX = 500  # an extra field's value in the mail: one line, at most this long
NO_CONSENT = ("personal details not shared: consent was not given (the team is asked to "
              "contact the helpline quoting the case reference)")


def person_for(case: Case) -> Contact:
    """Who needs the support: the beneficiary (the caller, when they need it themselves)."""
    return case.beneficiary or case.caller


def team_for(region: str | None) -> LocalTeam | None:
    """The active local team serving a region (the first added, should two claim it)."""
    if not region:
        return None
    return db.session.scalar(
        select(LocalTeam).join(LocalTeamRegion, LocalTeamRegion.team_id == LocalTeam.id)
        .where(LocalTeamRegion.region == region, LocalTeam.retired.is_(False))
        .order_by(LocalTeam.id).limit(1))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def token_for(referral: Referral) -> str:
    """The signed token of the team's "mark as actioned" link (names the referral and team)."""
    return str(_serializer().dumps({"r": referral.id, "t": referral.local_team_id}))


def referral_for_token(token: str) -> Referral | None:
    """The referral a link's token names, if it is genuine, not expired, and still waiting
    for that team (a used link names a referral already Actioned: None)."""
    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
    except BadSignature:  # a wrong, altered or expired token
        return None
    ref_id = data.get("r") if isinstance(data, dict) else None
    referral = db.session.get(Referral, ref_id) if isinstance(ref_id, int) else None
    if referral is None or referral.status != SENT or referral.local_team_id != data.get("t"):
        return None
    return referral


def _absolute(endpoint: str, **values) -> str:
    if has_request_context():
        path = url_for(endpoint, **values)
    else:  # a job or the command line: build the path as a request would
        with current_app.test_request_context():
            path = url_for(endpoint, **values)
    return current_app.config["BASE_URL"] + path


def _label(referral: Referral) -> str:
    return f"Local Referral {referral.response_type.name}"


def _one_line(value: object) -> str:
    """A free-text value as one line of at most FREE_TEXT_MAX characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= FREE_TEXT_MAX else text[:FREE_TEXT_MAX - 1] + "…"


def _extra_fields(referral: Referral) -> list[tuple[str, str]]:
    """The response type's extra fields that were filled in, in the admin's order (each
    value one line, capped in length)."""
    values = referral.extra or {}
    return [(f.name, _one_line(values[str(f.id)])) for f in fields_for(referral.response_type_id)
            if values.get(str(f.id))]


def may_share(case: Case, person: Contact) -> bool:
    """Whether the local team may have the person's details: the person has given consent
    ("Consent given") and the case does not record Consent from Beneficiary = No."""
    return person.has_consent and case.beneficiary_consent is not False


def _mail(referral: Referral, case: Case, person: Contact, team: LocalTeam,
          share: bool) -> None:
    # Only what the team needs to act: no summary notes, safeguarding or other history;
    # without consent not even the person's name or contact details.
    subject, body = render_mail(
        "referral_sent", referral=referral, case=case, person=person, team=team,
        share=share, extra=_extra_fields(referral),
        link=_absolute("review.referral_confirm", token=token_for(referral)))
    queue_mail(team.mailbox, subject, body, key=f"local-referral-{referral.id}")


def send(referral: Referral, case: Case, actor: User) -> bool:
    """Mail one referral not sent yet to its local team (→ Sent), or, when no team serves
    the region, leave it Awaiting a local team. Returns whether it was sent."""
    if referral.status not in NOT_SENT:
        return False  # sent once: never again
    person, before = person_for(case), referral.status_label
    team = team_for(person.region)
    if team is None:
        if referral.status != AWAITING_TEAM:
            referral.status = AWAITING_TEAM
            audit.record(actor, "referral-waiting", "case", case.reference,
                         changes={_label(referral): (before, AWAITING_TEAM)},
                         reason=f"No local team serves {person.region}")
        return False
    referral.status, referral.local_team_id = SENT, team.id
    referral.local_team, referral.sent_at = team.name, utcnow()
    db.session.flush()
    share = may_share(case, person)
    _mail(referral, case, person, team, share)
    reason = f"Mailed to {team.name} ({team.mailbox})"
    audit.record(actor, "send-referral", "case", case.reference,
                 changes={_label(referral): (before, referral.status_label)},
                 reason=reason if share else f"{reason}; {NO_CONSENT}")
    if not share:  # said on the case too (a note; the review stays as it is)
        db.session.add(CaseNote(case_id=case.id, author_id=actor.id, text=(
            f"{_label(referral)} sent to {team.name} without the beneficiary's personal "
            "details: consent was not given. The team will contact the helpline quoting "
            f"{case.reference}.")))
    return True


def send_waiting(referral: Referral, actor: User) -> bool:
    """The data team's "Send to local team": only a referral Awaiting a local team, of a
    case accepted in review (a case not accepted yet sends its referrals when it is)."""
    case = referral_case(referral)
    if referral.status not in NOT_SENT:
        raise RuleError(f"This referral is already {referral.status_label}: only a referral "
                        "Awaiting a local team can be sent from here", field="referral")
    if case.review_state != ACCEPTED:
        raise RuleError(f"{case.reference} has not been accepted in review (it is "
                        f"{case.review_state}): its referrals are sent when it is accepted",
                        field="referral")
    if referral.status != AWAITING_TEAM:
        raise RuleError(f"Only a referral Awaiting a local team can be sent from here "
                        f"(this one is {referral.status_label})", field="referral")
    return send(referral, case, actor)


def send_all(case: Case, actor: User) -> int:
    """Send every referral of the case not sent yet; how many were mailed."""
    return sum(send(r, case, actor) for r in case.referrals if r.status in NOT_SENT)


@case_accepted.connect
def _send_on_accept(case: Case, actor: User, **_kw) -> int:
    """Accepting a case in review sends its referrals (in the accept's transaction)."""
    return send_all(case, actor)


def mark_actioned(referral: Referral, actor: User | None, how: str) -> None:
    """Actioned: by the data team (a referral sent, or one still waiting for a team that
    they passed on themselves), or by the team through its link (actor None)."""
    allowed = (SENT, AWAITING_TEAM) if actor is not None else (SENT,)
    if referral.status not in allowed:
        raise RuleError(f"Only a referral sent to a local team can be marked Actioned "
                        f"(this one is {referral.status_label})", field="referral")
    before = referral.status_label
    if not _move(referral, allowed, status=ACTIONED, actioned_at=utcnow(),
                 actioned_by_id=actor.id if actor is not None else None):
        raise RuleError("Someone else has just changed this referral: it was not marked "
                        "Actioned", field="referral", status=409)
    audit.record(actor, "referral-actioned", "case", referral_case(referral).reference,
                 changes={_label(referral): (before, ACTIONED)}, reason=how)


def decline(referral: Referral, reason: str, actor: User) -> None:
    """Declined, with the reason (the data team; a referral already actioned stays so)."""
    reason = (reason or "").strip()
    if referral.status in (ACTIONED, DECLINED):
        raise RuleError(f"This referral is already {referral.status_label}", field="referral")
    if not reason:
        raise RuleError("Enter why the referral was declined", field="declined_reason")
    if len(reason) > 1000:
        raise RuleError("The reason must be 1,000 characters or fewer", field="declined_reason")
    before = referral.status_label
    if not _move(referral, (referral.status,), status=DECLINED, declined_reason=reason):
        raise RuleError("Someone else has just changed this referral: it was not declined",
                        field="referral", status=409)
    audit.record(actor, "referral-declined", "case", referral_case(referral).reference,
                 changes={_label(referral): (before, DECLINED)}, reason=reason)


def _move(referral: Referral, allowed: tuple[str, ...], **values) -> bool:
    """Change the referral only if its status is still one of `allowed` in the database
    (one conditional UPDATE: of two changes at the same moment one wins, the other finds
    nothing to change). The loaded referral takes the new values."""
    result = db.session.execute(
        update(Referral).where(Referral.id == referral.id, Referral.status.in_(allowed))
        .values(**values).execution_options(synchronize_session=False))
    if (rowcount(result) or 0) != 1:
        return False
    db.session.refresh(referral)
    return True


def referral_case(referral: Referral) -> Case:
    """The case a referral belongs to."""
    return db.session.get_one(Case, referral.case_id)


def waiting_query():
    """(referral, case) of the referrals Awaiting a local team, oldest first (the data
    team's list)."""
    return select(Referral, Case).join(Case, Case.id == Referral.case_id).where(
        Referral.status == AWAITING_TEAM).order_by(Referral.id)


def waiting_count(session: AnySession) -> int:
    """How many referrals wait for a local team (one COUNT)."""
    return session.scalar(select(func.count(Referral.id)).where(
        Referral.status == AWAITING_TEAM)) or 0
