"""Demo data: teams, ~70 staff like the seed's "Search More" list, lookup lists.

Idempotent: running it again adds only what is missing.
"""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from .auth.models import User
from .auth.services import create_user, hash_password, team_by_name
from .demo_records import seed_records
from .extensions import db
from .knowledge.models import LocalTeam, LocalTeamRegion
from .lookups.models import LookupItem, ResponseTypeField
from .timeutil import utcnow

DEMO_PASSWORD = "helpline-demo"

TEAMS = ["Information Officers", "CR Team (IDVA Team)", "Night Shift", "Call Back Team"]

# (role, email, name, team)
SIGN_INS = [
    ("admin", "admin@example.org", "Admin User", "Information Officers"),
    ("supervisor", "elliot.hunter@example.org", "Elliot Hunter", "Information Officers"),
    ("data", "maggie.evans@example.org", "Maggie Evans", "Information Officers"),
    ("volunteer", "angie.greenaway-samuel@example.org", "Angie Greenaway-Samuel",
     "Information Officers"),
]

STAFF = [
    "Abbie Dacruz", "ABC Smith", "Allison Bates", "Andy Jackson", "Barry Smith", "Brian Rapley",
    "(CA) Adam Walters", "(CA) Alison Moore", "(CA) Andrew Jones", "(CA) Emma Moore",
    "(CA) Erin Howitt", "(CA) Heidi Steadman", "(CA) Jason Baker", "(CA) John Myhill",
    "(CA) Jonathan Beare",
]
FIRST = ["Amira", "Ben", "Chloe", "Dev", "Ellie", "Farah", "George", "Hannah", "Imran", "Jess",
         "Kofi", "Laura", "Mo", "Nadia", "Owen", "Priya", "Rhys", "Sana", "Tom", "Zara"]
LAST = ["Ahmed", "Brown", "Clarke", "Davies", "Evans", "Fraser", "Green", "Hughes", "Iqbal",
        "Jones", "Khan", "Lewis", "Morgan", "Patel", "Roberts", "Singh", "Taylor", "Walsh"]

LOOKUPS: dict[str, list[str]] = {
    "signpost_category": ["Food banks", "Mental health", "Bereavement", "Financial advice",
                          "Housing", "Domestic abuse", "Befriending", "Age UK/older people",
                          "Carers", "Health services", "Benefits advice", "Local council",
                          "Other"],
    "local_response_type": ["Food", "Medication", "Transport", "Essential supplies",
                            "Befriending/emotional support", "Other"],
    "out_of_remit_reason": ["Complaint about our response", "Wrong number",
                            "Service not provided", "Hoax or abusive call", "Other"],
    "emergency_intervention": ["Ambulance called", "Police called", "Fire service called",
                               "Social services alerted", "Safeguarding referral made",
                               "GP/crisis team contacted"],
    "interaction_method": ["Phone Call", "Email", "Webchat", "Letter", "Text message",
                           "Face to face"],
    "call_state": ["Active", "Completed", "Dropped", "Missed"],
    "call_result": ["Called contact not made", "Contact not made message left",
                    "Contact not made no message left", "Signposted to other options",
                    "Application made", "Application not made", "Contact made"],
    "call_back_outcome": ["Done", "Signposted", "Application made", "Application not made",
                          "Unsuccessful"],
    "review_checklist": ["No personal details in summary notes", "Signposts match notes",
                         "Referrals have their required details", "Consent recorded"],
    "functionally_unique_team": ["CM 2012 SCHEME South West Specialist Services Support Team",
                                 "CSA DPU SARS"],
}

# What items mean (flags administrators can change later on the lists page).
FLAGGED: dict[str, tuple[str, set[str]]] = {
    "call_result": ("counts_as_success", {"Signposted to other options", "Application made",
                                          "Application not made", "Contact made"}),
    "out_of_remit_reason": ("counts_as_complaint", {"Complaint about our response"}),
}
MAILBOXES = {
    "CM 2012 SCHEME South West Specialist Services Support Team":
        "specialist-services-sw@example.org",
    "CSA DPU SARS": "dpu-sars@example.org",
}


def _email_for(name: str) -> str:
    clean = name.replace("(CA) ", "").replace(" ", ".").replace("'", "").lower()
    return f"{clean}@example.org"


def _ensure_user(role: str, email: str, name: str, team: str, pw_hash: str, rng) -> None:
    if db.session.scalar(select(User.id).where(User.email == email)):
        return
    user = create_user(email, name, role, "", team=team, password_hash=pw_hash,
                       frontline_operator=rng.random() < 0.6)
    if rng.random() < 0.7:
        user.latest_authentication = utcnow() - timedelta(days=rng.randint(0, 400),
                                                          minutes=rng.randint(0, 1440))
    extra_team = team_by_name(rng.choice(TEAMS))
    if rng.random() < 0.2 and extra_team not in user.teams:
        user.teams.append(extra_team)


def seed_users(rng: random.Random) -> None:
    """The demo sign-ins plus a realistic handler list across several teams."""
    for name in TEAMS:
        team_by_name(name)
    db.session.flush()
    pw_hash = hash_password(DEMO_PASSWORD)  # one hash: seeding stays fast
    for role, email, name, team in SIGN_INS:
        _ensure_user(role, email, name, team, pw_hash, rng)
    names = list(STAFF)
    name_rng = random.Random(70)  # its own generator: the same names on every run
    while len(names) < 70:
        candidate = f"{name_rng.choice(FIRST)} {name_rng.choice(LAST)}"
        if candidate not in names:
            names.append(candidate)
    for i, name in enumerate(names):
        role = "supervisor" if i % 12 == 0 else "volunteer"
        _ensure_user(role, _email_for(name), name, TEAMS[i % len(TEAMS)], pw_hash, rng)


def seed_lookups() -> None:
    """Default lookup lists (administrators edit them later)."""
    existing = {(i.list_name, i.name) for i in db.session.scalars(select(LookupItem))}
    for list_name, names in LOOKUPS.items():
        for pos, name in enumerate(names):
            if (list_name, name) not in existing:
                item = LookupItem(list_name=list_name, name=name, position=pos,
                                  mailbox=MAILBOXES.get(name))
                flag, flagged = FLAGGED.get(list_name, ("", set()))
                if name in flagged:
                    setattr(item, flag, True)
                db.session.add(item)


# response type -> [(field name, kind, choices, required)]; none is required: the guide
# says "These fields are not mandatory" (an administrator may mark one required)
RESPONSE_TYPE_FIELDS: dict[str, list[tuple[str, str, str | None, bool]]] = {
    "Food": [("People in household", "number", None, False),
             ("Dietary needs", "text", None, False)],
    "Medication": [("Pharmacy", "text", None, False),
                   ("Prescription ready date", "date", None, False),
                   ("Paid or unpaid", "choice", "Paid,Unpaid", False)],
    "Transport": [("Journey", "text", None, False), ("Date needed", "date", None, False)],
    "Essential supplies": [("Items needed", "text", None, False)],
}

# Local teams the accepted referrals are mailed to: (name, mailbox, regions served). Every
# region of the postcode table has one, except the Channel Islands and the Isle of Man
# (their referrals wait for a local team, as the data team's list shows).
LOCAL_TEAMS: list[tuple[str, str, tuple[str, ...]]] = [
    ("London tactical cell", "london-referrals@example.org", ("London",)),
    ("South East tactical cell", "south-east-referrals@example.org", ("South East",)),
    ("South West tactical cell", "south-west-referrals@example.org", ("South West",)),
    ("Midlands tactical cell", "midlands-referrals@example.org",
     ("West Midlands", "East Midlands")),
    ("East of England tactical cell", "east-referrals@example.org", ("East of England",)),
    ("North tactical cell", "north-referrals@example.org",
     ("North West", "North East", "Yorkshire and the Humber")),
    ("Scotland tactical cell", "scotland-referrals@example.org", ("Scotland",)),
    ("Wales tactical cell", "wales-referrals@example.org", ("Wales",)),
    ("Northern Ireland tactical cell", "ni-referrals@example.org", ("Northern Ireland",)),
    ("National tactical cell", "national-referrals@example.org", ("United Kingdom",)),
]


def seed_local_teams() -> None:
    """The demo local teams with their mailboxes and regions (missing ones only)."""
    have = set(db.session.scalars(select(LocalTeam.name)))
    for name, mailbox, regions in LOCAL_TEAMS:
        if name not in have:
            db.session.add(LocalTeam(name=name, mailbox=mailbox, regions=[
                LocalTeamRegion(region=r) for r in regions]))


def seed_response_type_fields() -> None:
    """Extra fields for the default response types (data, not code)."""
    types = {i.name: i for i in db.session.scalars(
        select(LookupItem).where(LookupItem.list_name == "local_response_type"))}
    for type_name, fields in RESPONSE_TYPE_FIELDS.items():
        item = types.get(type_name)
        if item is None or db.session.scalar(select(ResponseTypeField.id).where(
                ResponseTypeField.response_type_id == item.id).limit(1)):
            continue
        for pos, (name, kind, choices, required) in enumerate(fields):
            db.session.add(ResponseTypeField(response_type_id=item.id, name=name, kind=kind,
                                             choices=choices, required=required, position=pos))


def seed() -> list[tuple[str, str]]:
    """Seed everything; returns the demo sign-ins (role, email)."""
    rng = random.Random(2026)
    seed_users(rng)
    seed_lookups()
    db.session.flush()
    seed_response_type_fields()
    seed_local_teams()
    db.session.flush()
    seed_records()
    db.session.flush()
    return [(role, email) for role, email, _n, _t in SIGN_INS]
