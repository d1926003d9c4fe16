"""Telephony rules: the endpoint's token and addresses, the panel each user sees, the
Missed calls list, a call back from a missed call, and erasure and retention of the log."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import delete, func, or_, select, true, update

from .. import audit
from ..audit.models import AuditEntry
from ..auth.models import Team, User, user_teams
from ..callback_requests import services as request_services
from ..callbacks import services as callback_services
from ..cases.models import OPEN_STATUSES, Case
from ..contacts import signals as contact_signals
from ..contacts.models import Contact
from ..extensions import AnySession, db, rowcount
from ..notifications.models import Notification
from ..rules import RuleError
from ..site_settings import Setting
from ..timeutil import london_format, utcnow
from .models import Call, call_contacts, call_ringing

TOKEN_KEY = "telephony_token_sha256"
ALLOWED_KEY = "telephony_allowed_addresses"
RINGING_FOR = timedelta(hours=2)  # a call the PBX never ended stops ringing after this
ANSWERED_FOR = timedelta(hours=12)
ENDED_FOR = timedelta(minutes=15)  # an ended call's panel leaves by itself after this


# --- the endpoint's secret ------------------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _setting(key: str) -> Setting | None:
    return db.session.get(Setting, key)


def _put(key: str, value: str, actor: User) -> None:
    row = _setting(key) or Setting(key=key, value="")
    row.value, row.updated_at, row.updated_by_id = value, utcnow(), actor.id
    db.session.add(row)


def rotate_token(actor: User) -> str:
    """A new long random token (shown once; only its hash is kept). The old one stops."""
    token = secrets.token_urlsafe(32)
    _put(TOKEN_KEY, _digest(token), actor)
    audit.record(actor, "rotate", "telephony token", "endpoint",
                 changes={"Token": ("(previous)", "(new, not shown)")})
    return token


def has_token() -> bool:
    return _setting(TOKEN_KEY) is not None


def token_matches(token: str) -> bool:
    """Compared in constant time (as digests), so the answer time gives nothing away."""
    row = _setting(TOKEN_KEY)
    return row is not None and hmac.compare_digest(row.value, _digest(token or ""))


def allowed_addresses() -> str:
    row = _setting(ALLOWED_KEY)
    return row.value if row else ""


def set_allowed_addresses(text: str, actor: User) -> None:
    """Addresses or networks (one a line, or comma separated); empty allows any."""
    items = [i.strip() for i in text.replace(",", "\n").splitlines() if i.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise RuleError(f"'{item[:60]}' is not an address or network, for example "
                            "192.0.2.10 or 192.0.2.0/24", field="addresses") from None
    value = "\n".join(items)
    audit.record(actor, "update", "telephony settings", "endpoint",
                 changes={"Allowed addresses": (allowed_addresses(), value)})
    _put(ALLOWED_KEY, value, actor)


def address_allowed(address: str | None) -> bool:
    nets = allowed_addresses().split()
    if not nets:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in nets)


# --- the panel --------------------------------------------------------------------------

@dataclass
class Match:
    contact: Contact
    open_cases: int


@dataclass
class PanelCall:
    """One call as this user's panel shows it."""

    call: Call
    state: str  # ringing | answered | ended
    names_shown: bool
    matches: list[Match] = field(default_factory=list)  # empty unless names_shown
    match_count: int = 0  # how many contacts the number matched (shown to anyone)


def may_see_names(user: User) -> bool:
    """Names only for those who may open contacts anyway (the contacts pages' roles)."""
    return user.has_role("volunteer", "supervisor", "data")


def _open_cases(contact_ids: list[int]) -> dict[int, int]:
    if not contact_ids:
        return {}
    return dict(db.session.execute(  # type: ignore[arg-type,unused-ignore]
        select(Case.caller_id, func.count(Case.id)).where(
            Case.caller_id.in_(contact_ids), Case.status.in_(OPEN_STATUSES))
        .group_by(Case.caller_id)).all())


def _panel_query(user: User, now: datetime):
    ringing = select(call_ringing.c.call_id).where(call_ringing.c.user_id == user.id)
    return select(Call).where(
        Call.direction == "in", Call.erased_at.is_(None), or_(
            (Call.id.in_(ringing) & Call.answered_at.is_(None) & Call.ended_at.is_(None)
             & (Call.started_at >= now - RINGING_FOR)),
            ((Call.answered_by_id == user.id) & Call.dismissed.is_(False)
             & (Call.started_at >= now - ANSWERED_FOR)
             & (Call.ended_at.is_(None) | (Call.ended_at >= now - ENDED_FOR)))))


def panel_count(user: User, now: datetime | None = None) -> int:
    """How many calls the user's panel holds (page chrome: one COUNT query)."""
    q = _panel_query(user, now or utcnow())
    return db.session.scalar(select(func.count()).select_from(q.subquery())) or 0


def panel_for(user: User, now: datetime | None = None) -> list[PanelCall]:
    """Calls ringing for the user, and the one they answered until they close it."""
    calls = list(db.session.scalars(_panel_query(user, now or utcnow())
                                    .order_by(Call.started_at.desc()).limit(5)))
    names = may_see_names(user)
    out = []
    for call in calls:
        state = "ended" if call.ended_at else "answered" if call.answered_at else "ringing"
        counts = _open_cases([c.id for c in call.contacts]) if names else {}
        out.append(PanelCall(call, state, names, [Match(c, counts.get(c.id, 0))
                                                  for c in call.contacts if names],
                             len(call.contacts)))
    return out


def dismiss(call: Call, actor: User) -> None:
    """The answerer closes their panel."""
    if call.answered_by_id != actor.id:
        raise RuleError("Only the person who answered this call can close its panel")
    if not call.dismissed:
        call.dismissed = True
        audit.record(actor, "update", "call", call.id, changes={"Panel closed": (False, True)})


# --- missed calls -------------------------------------------------------------------------

def _missed_for(user: User):
    """The missed calls a user is shown: those that rang for them, those of their team's
    queue, and those that rang for nobody; supervisors (and admins) see every one."""
    if user.has_role("supervisor"):
        return true()
    rang = select(call_ringing.c.call_id).where(call_ringing.c.user_id == user.id)
    anyone = select(call_ringing.c.call_id)
    teams = select(func.lower(Team.name)).join(user_teams, user_teams.c.team_id == Team.id) \
        .where(user_teams.c.user_id == user.id)
    return or_(Call.id.in_(rang), func.lower(Call.queue).in_(teams), Call.id.not_in(anyone))


def missed_calls(user: User, limit: int = 200) -> list[Call]:
    """Incoming calls that ended unanswered, newest first (called back ones included),
    those the user is shown."""
    return list(db.session.scalars(select(Call).where(
        Call.direction == "in", Call.answered_at.is_(None), Call.ended_at.is_not(None),
        Call.erased_at.is_(None), _missed_for(user)).order_by(Call.started_at.desc())
        .limit(limit)))


def missed_call_for(call_id: int, user: User) -> Call | None:
    """One missed call the user is shown (None: not one of theirs, or no such call)."""
    return db.session.scalar(select(Call).where(Call.id == call_id, Call.erased_at.is_(None),
                                                _missed_for(user)))


def missed_count(session: AnySession, user: User) -> int:
    """Missed calls nobody has called back yet that the user is shown (the navigation
    badge; pages and the event stream pass their own session)."""
    return session.scalar(select(func.count(Call.id)).where(
        Call.direction == "in", Call.answered_at.is_(None), Call.ended_at.is_not(None),
        Call.erased_at.is_(None), Call.called_back.is_(None),
        Call.withheld.is_(False), _missed_for(user))) or 0


def _open_case_of(call: Call) -> Case | None:
    ids = [c.id for c in call.contacts]
    if len(ids) != 1:  # one matched person only: never guess between two
        return None
    return db.session.scalar(select(Case).where(Case.caller_id == ids[0],
                                                Case.status.in_(OPEN_STATUSES))
                             .order_by(Case.created_at.desc()).limit(1))


def call_back(call: Call, actor: User, request_link: Callable, base_url: str,
              mp_address: str, may_own: Callable[[Case], bool] = lambda _case: False) -> str:
    """One click: a call back on the matched caller's open case (owned by the actor) when
    the actor may already work on that case (`may_own`: owner, team queue, or verified the
    caller this session, as /callbacks/new asks), else a call-back request for the actor's
    team, which a team leader assigns after the caller is verified. Returns what was made
    ("call back 12"). Two clicks at once make one: the first claims the call."""
    if call.withheld:
        raise RuleError("The number was withheld: there is no number to call back")
    if not call.missed:
        raise RuleError("Only a missed call can be turned into a call back")
    claimed = db.session.execute(
        update(Call).where(Call.id == call.id, Call.called_back.is_(None))
        .values(called_back="(being called back)").execution_options(
            synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(call)
        raise RuleError(f"This call was already called back ({call.called_back})")
    case = _open_case_of(call)
    note = f"Missed call at {london_format(call.started_at)} (phone system)"
    if case is not None and may_own(case):
        now = utcnow()
        start, end = callback_services.resolve_times(call.started_at, None, None, None)
        start = max(start, now)
        end = max(end, start + timedelta(minutes=30))
        cb = callback_services.create(case, callback_services.CallBackInput(
            contact_number=call.number_display or call.number or "", description=note,
            call_received_at=call.started_at, preferred_at=None, alarm=True, start_at=start,
            end_at=end, informal=False, back_entry=False, owner="me"), actor)
        made = f"call back {cb.id}"
    else:
        name = call.contacts[0].full_name if len(call.contacts) == 1 else "Caller (missed call)"
        req = request_services.create_request({
            "full_name": name, "contact_number": call.number_display or call.number or "",
            "anytime": True, "nature": "Other", "notes": note,
            "team_id": actor.default_team_id, "received_at": call.started_at,
            "contact_id": call.contacts[0].id if len(call.contacts) == 1 else None,
        }, actor, base_url, request_link, mp_address)
        made = f"call-back request {req.id}"
    call.called_back = made
    audit.record(actor, "call back", "call", call.id, changes={"Called back": (None, made)})
    return made


# --- erasure and retention ------------------------------------------------------------------

def _scrub_audit(call_ids: list[int], note: str) -> None:
    """The number as older audit rows hold it ("Number" on a call's creation) goes with the
    call's own number (erasure) or the call (retention)."""
    for chunk in range(0, len(call_ids), 500):
        refs = [str(i) for i in call_ids[chunk:chunk + 500]]
        db.session.execute(update(AuditEntry).where(
            AuditEntry.record_type == "call", AuditEntry.record_id.in_(refs),
            AuditEntry.field == "Number").values(before=None, after=note)
            .execution_options(synchronize_session=False))


def erase_for_contacts(contact_ids: set[int], actor: User | None) -> int:
    """Scrub the calls of people being erased (before their own rows are emptied). A call
    matched to them only is scrubbed; a call also matched to someone else keeps its number
    and loses only their link; a call matched to nobody is scrubbed when its number is one
    of theirs (by its key) and no other active contact has that number. Time, duration and
    cause stay for statistics. Returns rows scrubbed."""
    ids = sorted(contact_ids)
    if not ids:
        return 0
    linked = set(db.session.scalars(select(call_contacts.c.call_id).where(
        call_contacts.c.contact_id.in_(ids))))
    shared = set(db.session.scalars(select(call_contacts.c.call_id).join(
        Contact, Contact.id == call_contacts.c.contact_id).where(
        call_contacts.c.call_id.in_(linked), Contact.id.not_in(ids),
        Contact.anonymised_at.is_(None)))) if linked else set()
    keys = {k for k in db.session.scalars(select(Contact.phone_key).where(
        Contact.id.in_(ids))) if k}
    kept = set(db.session.scalars(select(Contact.phone_key).where(
        Contact.phone_key.in_(keys), Contact.id.not_in(ids), Contact.active.is_(True),
        Contact.anonymised_at.is_(None)))) if keys else set()
    usable = sorted(k for k in keys - kept if len(k) <= 20)
    unlinked = set(db.session.scalars(select(Call.id).where(
        Call.number_key.in_(usable), Call.erased_at.is_(None),
        Call.id.not_in(select(call_contacts.c.call_id))))) if usable else set()
    mine = sorted(linked - shared)
    found = sorted(unlinked | set(db.session.scalars(select(Call.id).where(
        Call.id.in_(mine), Call.erased_at.is_(None))) if mine else set()))
    if shared:
        db.session.execute(delete(call_contacts).where(call_contacts.c.call_id.in_(shared),
                                                       call_contacts.c.contact_id.in_(ids)))
        audit.record(actor, "erase", "call", "list", changes={
            "Links to erased contacts removed": (None, ", ".join(map(str, sorted(shared))))})
    if not found:
        return 0
    db.session.execute(update(Call).where(Call.id.in_(found)).values(
        number=None, number_display=None, number_key=None, to_number=None,
        called_back=None, erased_at=utcnow()))
    db.session.execute(delete(call_contacts).where(call_contacts.c.call_id.in_(found)))
    _scrub_audit(found, "(erased)")
    audit.record(actor, "erase", "call", "list",
                 changes={"Calls erased": (None, ", ".join(map(str, found)))})
    return len(found)


@contact_signals.merging.connect
def _move_calls(loser: Contact, survivor: Contact, actor: User, ip: str | None = None,
                reason: str | None = None, **_kw) -> dict[str, int]:
    """A merge moves the loser's calls to the survivor before the loser is erased."""
    calls = sorted(db.session.scalars(select(call_contacts.c.call_id).where(
        call_contacts.c.contact_id == loser.id)))
    if not calls:
        return {}
    have = set(db.session.scalars(select(call_contacts.c.call_id).where(
        call_contacts.c.contact_id == survivor.id, call_contacts.c.call_id.in_(calls))))
    db.session.execute(delete(call_contacts).where(call_contacts.c.contact_id == loser.id))
    new = [{"call_id": c, "contact_id": survivor.id} for c in calls if c not in have]
    if new:
        db.session.execute(call_contacts.insert(), new)
    for call_id in calls:
        audit.record(actor, "merge", "call", call_id, ip=ip, reason=reason, changes={
            "Contact": (f"contact {loser.id}", f"contact {survivor.id}")})
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Call) and obj.id in calls:
            db.session.expire(obj, ["contacts"])
    return {"Calls moved": len(calls)}


def expire(cutoff: datetime) -> int:
    """Retention: calls older than the cutoff are deleted (the contacts' retention period)."""
    ids = list(db.session.scalars(select(Call.id).where(Call.started_at < cutoff)))
    if ids:
        _scrub_audit(ids, "(deleted by retention)")
        db.session.execute(delete(Call).where(Call.id.in_(ids)))
        audit.record(None, "delete", "call", "list", reason="Retention: older than the "
                     "contacts' retention period", changes={"Calls deleted": (None, len(ids))})
    return len(ids)


PINGS_KEPT = timedelta(days=1)


def purge_pings(now: datetime | None = None) -> int:
    """The panel's wake-up notifications ("Incoming call", "Answered", "Ended": nothing
    personal, read at once) are no use after a day: deleted by the retention job so they
    never pile up. Returns rows deleted."""
    before = (now or utcnow()) - PINGS_KEPT
    gone = rowcount(db.session.execute(delete(Notification).where(
        Notification.kind == "call", Notification.created_at < before)
        .execution_options(synchronize_session=False)))
    if gone:
        audit.record(None, "delete", "notification", "list", reason="Retention: phone-call "
                     "notifications older than a day", changes={"Deleted": (None, gone)})
    return gone
