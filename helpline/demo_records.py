"""Demo contacts and cases for `seed-demo` (a few hundred, through the real services)."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from .auth.models import User
from .callbacks import services as callback_services
from .cases import services as case_services
from .cases.models import Case
from .cases.rows import ReferralRow, SignpostRow
from .contacts import postcodes
from .contacts.models import CONSENT_STATUSES, Contact
from .contacts.services import create_contact
from .extensions import db
from .interactions.services import create_interaction
from .lookups.models import LookupItem, fields_for, offered
from .review import services as review_services
from .timeutil import utcnow

FIRST = ["Robert", "Peter", "Mary", "Edna", "John", "Margaret", "David", "Susan", "James",
         "Patricia", "Mohammed", "Aisha", "Wei", "Olu", "Siobhan", "Gareth", "Fiona", "Ewan",
         "Priya", "Tomasz", "Agnieszka", "Kwame", "Grace", "Albert", "Doris", "Harold"]
LAST = ["Livingstone", "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans",
        "Wilson", "Thomas", "Roberts", "Khan", "Patel", "Singh", "O'Brien", "MacDonald",
        "Campbell", "Hughes", "Nowak", "Mensah", "Okafor", "Chen", "Murphy", "Green"]
STREETS = ["High Street", "Church Road", "Station Road", "Victoria Road", "Park Avenue",
           "Mill Lane", "Queen Street", "Manor Way"]
TITLES = ["Food parcel needed", "Prescription collection", "Feeling isolated",
          "Help with shopping", "Bereavement support", "Benefits advice", "Transport to GP",
          "Worried about a neighbour", "Housing repair", "Needs befriending"]
DEMO_VOLUNTEER = "angie.greenaway-samuel@example.org"  # the volunteer sign-in `make run` prints
NOTES = ["Caller lives alone and has not been out for two weeks.",
         "Daughter usually helps but is away until next month.",
         "Explained what the local team can do; caller was relieved.",
         "Caller asked us to ring back in the afternoon.",
         "Gave the number of the local food bank."]


def _postcode(rng: random.Random, areas: list) -> tuple[str, postcodes.Area]:
    area = rng.choice(areas)
    return f"{area.code}{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}", area


def seed_records(contacts: int = 300) -> int:
    """Create demo contacts with cases; does nothing if contacts already exist."""
    if db.session.scalar(select(func.count(Contact.id))):
        return 0
    rng = random.Random(4242)
    handlers = list(db.session.scalars(select(User).where(User.active.is_(True))))
    areas = [a for a in postcodes.areas().values() if a.code not in ("UK", "GY", "JE", "IM")]
    categories = list(db.session.scalars(select(LookupItem).where(
        LookupItem.list_name == "signpost_category")))
    types = list(db.session.scalars(select(LookupItem).where(
        LookupItem.list_name == "local_response_type")))
    lists = _lists()
    for i in range(contacts):
        handler = rng.choice(handlers)
        consent = CONSENT_STATUSES[0] if rng.random() < 0.85 else rng.choice(CONSENT_STATUSES[1:])
        code, area = _postcode(rng, areas)
        named = consent == CONSENT_STATUSES[0]
        contact = create_contact({
            "consent_status": consent, "consent_given_by": "The Caller for themselves",
            "consent_decision_date": (utcnow() - timedelta(days=rng.randint(0, 700))).date(),
            "first_name": rng.choice(FIRST) if named else None,
            "last_name": rng.choice(LAST) if named else None,
            "phone": f"07700 900{i % 1000:03d}" if named else None,
            "address": f"{rng.randint(1, 120)} {rng.choice(STREETS)}" if named else None,
            "postcode": code if named else None, "postcode_area": area.code,
            "region": area.region}, handler, session_id="demo")
        case = _demo_case(rng, contact, handler, categories, types) if rng.random() < 0.7 else None
        _demo_interaction(rng, contact, case, handler, lists)
    _demo_callbacks(rng, handlers)
    _demo_queues()
    _demo_waiting_referral(types)
    return contacts + 1


def _lists() -> dict[str, dict[str, LookupItem]]:
    items = db.session.scalars(select(LookupItem).where(LookupItem.list_name.in_(
        ("interaction_method", "call_state"))))
    out: dict[str, dict[str, LookupItem]] = {}
    for item in items:
        out.setdefault(item.list_name, {})[item.name] = item
    return out


def _demo_interaction(rng, contact, case, handler, lists) -> None:
    """The call that opened the record (and sometimes a follow-up), handled by its owner."""
    methods, states = lists.get("interaction_method", {}), lists.get("call_state", {})
    for n in range(1 if rng.random() < 0.7 else 2):
        when = (case.created_at if case else utcnow() - timedelta(days=rng.randint(0, 90))) \
            + timedelta(days=n * rng.randint(1, 5))
        method = methods.get("Phone Call" if rng.random() < 0.8 else rng.choice(
            ["Email", "Webchat", "Text message"]))
        state = states.get("Completed" if rng.random() < 0.85 else rng.choice(["Dropped", "Missed"]))
        create_interaction({
            "fully_anonymous": False, "enquirer_id": contact.id, "enquirer_country": "England",
            "interaction_date": min(when, utcnow()), "method_id": method.id if method else None,
            "direction": "Inbound" if n == 0 else rng.choice(["Inbound", "Outbound"]),
            "call_state_id": state.id if state else None, "duration_mins": rng.randint(2, 40),
            "case_id": case.id if case else None, "out_of_remit": False, "community": False,
            "covid_related": False, "notes": rng.choice(NOTES), "call_back_required": False},
            [handler], [], handler, link="")


def _demo_callbacks(rng, handlers) -> None:
    """Open call backs for the next day, so "My call backs" and the reminders have work."""
    cases = list(db.session.scalars(select(Case).order_by(Case.id.desc()).limit(40)))
    volunteer = db.session.scalar(select(User).where(User.email == DEMO_VOLUNTEER))
    now = utcnow().replace(second=0, microsecond=0)
    for i, case in enumerate(cases):
        received = now - timedelta(hours=rng.randint(0, 20))
        preferred = now + timedelta(minutes=rng.randint(40, 180)) if i % 3 else None
        start, end = callback_services.default_times(received, preferred)
        owner = volunteer if volunteer and i < 8 else (
            case.owner if case.owner and case.owner.active else rng.choice(handlers))
        callback_services.create(case, callback_services.CallBackInput(
            contact_number=case.caller.phone or "07700 900000",
            description=f"Ring back about {case.title.lower()} ({case.reference})",
            call_received_at=received, preferred_at=preferred, alarm=True,
            start_at=max(start, now + timedelta(minutes=5 + i)), end_at=end, informal=False,
            back_entry=False, owner="user", owner_user=owner), owner)


DEMO_SUPERVISOR, DEMO_DATA = "elliot.hunter@example.org", "maggie.evans@example.org"
SENT_BACK_REASONS = ["Remove the caller's name from the case title.",
                     "Add the Local Referral the notes mention."]


def _demo_queues() -> None:
    """Fill the demo volunteer's case queues (My cases, Assigned to me, My team's cases,
    Sent back to me), through the real services so the history reads right."""
    angie = db.session.scalar(select(User).where(User.email == DEMO_VOLUNTEER))
    elliot = db.session.scalar(select(User).where(User.email == DEMO_SUPERVISOR))
    maggie = db.session.scalar(select(User).where(User.email == DEMO_DATA))
    if angie is None or elliot is None or maggie is None:
        return
    others = list(db.session.scalars(select(Case).where(Case.owner_id != angie.id)
                                     .order_by(Case.id).limit(12)))
    for case in others[:4]:  # Assigned to me: Elliot gave them to Angie; owners stay
        case.assignee_id = angie.id
        case_services.set_status(case, "Assigned", elliot)
    for case in others[4:7]:  # My team's cases: in her team's queue, no one has taken them
        case.team_id, case.assignee_id = angie.default_team_id, None
        case_services.set_status(case, "Assigned", elliot)
    for case, reason in zip(others[7:9], SENT_BACK_REASONS, strict=False):  # Sent back to me
        case_services.change_owner(case, angie.id, elliot)
        case_services.set_review_state(case, "Sent back", maggie, reason=reason)
        case_services.add_note(case, f"Sent back by the data team: {reason}", maggie)
    for case in others[9:12]:  # My cases: handed over to her
        case_services.change_owner(case, angie.id, elliot)


def _demo_case(rng, contact, handler, categories, types):
    signposts = [SignpostRow(n, category_id=c.id)
                 for n, c in enumerate(rng.sample(categories, rng.randint(0, 2)))]
    referrals = []
    for n, t in enumerate(rng.sample(types, rng.randint(0, 2))):
        extra = {f.id: ("2" if f.kind == "number" else f.choice_list[0] if f.choice_list
                        else "2026-12-01" if f.kind == "date" else "Demo value")
                 for f in fields_for(t.id)}
        referrals.append(ReferralRow(n, response_type_id=t.id, extra=extra))
    data = case_services.CaseInput(
        title=rng.choice(TITLES), who_requires_support="The person who called",
        beneficiary_id=None, beneficiary_consent=None, psychosocial_support=rng.random() < 0.5,
        safeguarding_activated=False, safeguarding_reason=None,
        feedback_consent=rng.random() < 0.6, ready_for_review=rng.random() < 0.4,
        note=rng.choice(NOTES), signposts=signposts, referrals=referrals)
    case = case_services.save_case(None, contact, data, handler)
    case.created_at = utcnow() - timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 600))
    contact.last_case_at = case.created_at
    return case


def _demo_waiting_referral(types: list[LookupItem]) -> None:
    """A reviewed food-parcel referral for the Isle of Man, where no demo local team works:
    it waits on the data team's list as "Awaiting a local team"."""
    maggie = db.session.scalar(select(User).where(User.email == DEMO_DATA))
    food = next((t for t in types if "food" in t.name.lower()), types[0] if types else None)
    if maggie is None or food is None:
        return
    contact = create_contact({
        "consent_status": CONSENT_STATUSES[0], "consent_given_by": "The Caller for themselves",
        "consent_decision_date": utcnow().date(), "first_name": "Ewan", "last_name": "Quayle",
        "phone": "07624 300123", "address": "4 Bucks Road, Douglas", "postcode": "IM1 3AD",
        "postcode_area": "IM", "region": "Isle of Man"}, maggie, session_id="demo")
    extra = {f.id: ("2" if f.kind == "number" else f.choice_list[0] if f.choice_list
                    else "Demo value") for f in fields_for(food.id) if f.kind != "date"}
    case = case_services.save_case(None, contact, case_services.CaseInput(
        title="Food parcel for a family in Douglas", who_requires_support="The person who called",
        beneficiary_id=None, beneficiary_consent=None, psychosocial_support=False,
        safeguarding_activated=False, safeguarding_reason=None, feedback_consent=True,
        ready_for_review=True, note="Two adults, three children; no cooking facilities.",
        signposts=[], referrals=[ReferralRow(0, response_type_id=food.id, extra=extra)]), maggie)
    review_services.accept(case, [i.name for i in offered("review_checklist")], maggie)
