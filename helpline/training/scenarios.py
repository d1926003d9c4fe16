"""Practice scenarios for the training site, written from the seeds' walkthroughs, and the
reset that wipes the training database and loads them again through the real services (so
every scenario record is a real contact, case, interaction or request)."""
from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import make_url, select

from ..auth.models import User
from ..auth.services import create_user, hash_password, team_by_name
from ..callback_requests import services as request_services
from ..callback_requests.models import CallBackRequest
from ..cases import services as case_services
from ..cases.models import Case
from ..cases.rows import ReferralRow
from ..contacts import postcodes
from ..contacts.models import Contact
from ..contacts.services import create_contact
from ..demo import seed_local_teams, seed_lookups, seed_response_type_fields
from ..extensions import db
from ..interactions.services import create_interaction
from ..lookups.models import LookupItem, fields_for
from ..rules import RuleError
from ..site_settings import Setting
from ..timeutil import utcnow

# PRACTICE_PASSWORD (environment) replaces the default the README and sign-in page show
PRACTICE_PASSWORD = os.environ.get("PRACTICE_PASSWORD") or "practice-only-123"
TEAM = "Information Officers"

# (role, email, name): every practice sign-in training-reset creates
PRACTICE_ACCOUNTS = [
    ("volunteer", "trainee.volunteer@practice.example.org", "Sam Trainee"),
    ("volunteer", "second.volunteer@practice.example.org", "Jo Learner"),
    ("supervisor", "trainee.supervisor@practice.example.org", "Pat Shiftlead"),
    ("data", "trainee.data@practice.example.org", "Robin Datateam"),
    ("admin", "trainer@practice.example.org", "Trainer Admin"),
]
VOLUNTEER, SUPERVISOR = PRACTICE_ACCOUNTS[0][1], PRACTICE_ACCOUNTS[2][1]
# who took the scenarios' earlier calls: a volunteer of an earlier shift, deactivated and
# with no usable password, so every trainee is a stranger to the callers and must verify
# them (the trainees' own sign-ins would open the cases as their owner, unverified)
EARLIER_SHIFT = ("volunteer", "earlier.shift@practice.example.org", "Chris Earlier")
# the trainees' sign-ins, published on the sign-in and Scenarios pages; the trainer's
# administrator account is in the README only
TRAINEE_ACCOUNTS = [a for a in PRACTICE_ACCOUNTS if a[0] != "admin"]


@dataclass
class Caller:
    """A fictional caller; `stored` says whether the reset puts them in the database."""

    first: str
    last: str
    phone: str
    address: str
    postcode: str
    stored: bool = True
    dob: date | None = None

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Scenario:
    """One numbered scenario: who calls, what to play, and the expected steps."""

    number: int
    title: str
    source: str
    caller: Caller
    situation: str
    steps: list[str] = field(default_factory=list)


SCENARIOS = [
    Scenario(
        1, "A food parcel referral",
        "User guide of the National Support Line: Find a contact, Create a new contact, New "
        "Case, Local Referral, Feedback, Case Management",
        Caller("Edith", "Marlowe", "07700 900101", "14 Mill Lane, Leeds", "LS6 2QT",
               stored=False),
        "Edith (78) lives alone in Leeds and has not been out for two weeks. She has run out "
        "of food and has no one to shop for her. She has never called before. She is happy "
        "for us to keep her details and to be asked for feedback. (There is an Edwin "
        "Marlowe on the system: he is not her.)",
        ["Search for the caller before creating a new contact: 'Marlowe' or her phone number. "
         "To avoid duplication always search the database for a service user first. Edwin "
         "Marlowe is someone else.",
         "New contact: read the Consent statement to the caller and record her answer in "
         "'Consent Status' (Consent given). 'Consent Given By' stays 'The Caller for "
         "themselves'. Enter the 'Consent Decision Date'.",
         "Enter 'First Name', 'Last name', 'Postcode' and 'Postcode (Lookup)' (LS): the "
         "'Region (Lookup)' fills automatically. Save.",
         "Click '+ New Case'. The caller is the beneficiary (the person who called).",
         "'Summary Notes': the high-level details of the call, in line with the safeguarding "
         "and data protection principles.",
         "'Support': record whether psychosocial support was given; 'Safeguarding Activated' "
         "stays No.",
         "Add a Local Referral with 'Local Response Type' Food; fill the extra fields "
         "(people in household: 1).",
         "'Feedback': she consents to being contacted for feedback.",
         "The case is complete: 'Ready for review' Yes, then Save and Close. The data team "
         "(the practice data team sign-in) sees it in Awaiting review."]),
    Scenario(
        2, "A safeguarding call",
        "User guide: Existing Contact – New Case, Support (Safeguarding Activated); "
        "Interaction Handling Procedure: Emergency Interventions",
        Caller("Harold", "Penrose", "07700 900202", "3 Church Road, Sheffield", "S10 4LP",
               dob=date(1944, 5, 2)),
        "Harold called three weeks ago for help with shopping (his case is on the system). "
        "Today he says the nephew who 'looks after his money' has taken his bank card, he "
        "has not eaten properly for days and he is frightened of him. He confirms his "
        "address and date of birth when asked.",
        ["Find the contact ('Penrose') and ask him to confirm the details we hold. No "
         "information should be given to a caller until they have completed the "
         "verification process.",
         "Open the contact. This is a new need, not the shopping case: click '+ New Case'.",
         "'Summary Notes': high-level only, in line with the safeguarding and data "
         "protection principles from your initial training.",
         "'Support': Psychosocial Support Yes; 'Safeguarding Activated' Yes; in "
         "'Safeguarding Reason' record only the high-level reason (e.g. possible financial "
         "abuse).",
         "Still follow the procedures from your initial training for reporting a "
         "safeguarding issue: tell the supervisor on shift.",
         "Record the call as a New Interaction: in the After-Call Actions tick the Emergency "
         "Intervention that took place (Safeguarding referral made).",
         "Add the supervisor as an Interaction Handler so it is seen in the Morning Review; "
         "mark the case Ready for review and Save and Close."]),
    Scenario(
        3, "A call back at an agreed time",
        "Call back procedure: Create a call back for yourself; When you receive a formal call "
        "back request",
        Caller("Tomasz", "Wrona", "07700 900303", "27 Station Road, Bristol", "BS5 6HG"),
        "You ring Tomasz (outbound) about his prescription collection case to check which "
        "pharmacy he uses. He is at the doctor's: it is inconvenient to speak and he asks "
        "for a call back at 6pm today (or 10am tomorrow if it is already late).",
        ["Open the contact ('Wrona'), verify him and open his case 'Prescription "
         "collection'.",
         "Once the call is ended record it: New Interaction, Direction Outbound, Call State "
         "Completed.",
         "On the case create a Call Back. In the description enter the contact number, the "
         "date and time for the call back, the case reference and why it was requested: as "
         "much as possible, in case it is transferred to someone else.",
         "Tick Alarm. Start is 30 minutes before the agreed time; End is the time the call "
         "must be completed by. Call backs must be completed within 24 hours.",
         "Do not change the status of the call back (that disables the alarm).",
         "The reminder pops up 5 minutes before the start. Do not dismiss it: make the call, "
         "or snooze it in 15-minute steps (up to 120 minutes).",
         "Once the call back is complete close it with a status (Done, Unsuccessful, …)."]),
    Scenario(
        4, "A call-back request",
        "Call back procedure: New applications call back (the small system): Awaiting "
        "Allocation, Awaiting Calls, Call 1 Result, Call back Outcome",
        Caller("Grace", "Adebayo", "07700 900404", "9 Queen Street, Cardiff", "CF10 2BH",
               dob=date(1986, 11, 19)),
        "Grace rang the overflow line wanting to make a new application; nobody could take "
        "it, so a call-back request was added (Call Back Anytime). It is waiting for "
        "allocation. When the trainee rings, the trainer plays no answer the first time "
        "and answers the second time.",
        ["Supervisor (practice supervisor sign-in): Awaiting Allocation, select Grace's "
         "name, choose the caseworker (the trainee volunteer) and Save: an email is sent to "
         "them (the trainer can show it under Admin → Sent mail).",
         "Trainee volunteer: Awaiting Calls, select Grace's name, enter the date and time "
         "you are making the call back and call her.",
         "No answer: Call 1 Result 'Contact not made message left'; enter the time and date "
         "to call her back and Save. You will receive a prompt 15 minutes before.",
         "Second call, contact made: Call 2 Result 'Contact made', choose a Call back "
         "Outcome and Save: this completes the call-back request.",
         "If the third call back is unsuccessful the process ends when you Save: the client "
         "will be required to make a new call."]),
    Scenario(
        5, "A complaint for Morning Review",
        "Interaction Handling Procedure: Complaints (Out of Remit reason), Interaction "
        "Handler re-assignment, Morning Review",
        Caller("Dorothy", "Kettering", "07700 900505", "52 Victoria Road, Manchester",
               "M14 5RT"),
        "Dorothy called ten days ago and a food parcel was arranged (her case is on the "
        "system). She is calling to complain: it never arrived and nobody rang her back as "
        "promised. She is upset but polite.",
        ["Find the contact ('Kettering') and verify her.",
         "New Interaction: Enquirer Dorothy Kettering, Interaction Method Phone Call, "
         "Direction Inbound; Case Reference: her food parcel case.",
         "Tick Out Of Remit and choose the reason 'Complaint about our response'.",
         "Notes: what she tells you, factually. Call Back: if a call back is required, say "
         "so in the notes.",
         "Assign it to the supervisor as an Interaction Handler: each new handler receives "
         "an email alerting them to the interaction.",
         "Save. Then sign in as the practice supervisor: the complaint is in the Morning "
         "Review (Complaints) until someone marks it reviewed."]),
]

# other callers, so that searching has something to find
BACKGROUND = [("Edwin", "Marlowe", "LS12 3AB"), ("Mary", "Okafor", "B15 2TT"),
              ("John", "Hughes", "NE4 7RW"), ("Aisha", "Khan", "L8 1XY"),
              ("Ewan", "MacDonald", "M20 6PQ"), ("Susan", "Davies", "CF24 3AA")]


def _area(postcode: str) -> postcodes.Area:
    code = "".join(ch for ch in postcode.split()[0] if ch.isalpha())
    return postcodes.areas()[code]


def _contact(first: str, last: str, phone: str | None, address: str | None, postcode: str,
             actor: User, dob: date | None = None) -> Contact:
    area = _area(postcode)
    contact = create_contact({
        "consent_status": "Consent given", "consent_given_by": "The Caller for themselves",
        "consent_decision_date": (utcnow() - timedelta(days=30)).date(),
        "first_name": first, "last_name": last, "phone": phone, "address": address,
        "postcode": postcode, "postcode_area": area.code, "region": area.region,
        "date_of_birth": dob}, actor, session_id="training")
    return contact


def _item(list_name: str, name: str) -> LookupItem:
    item = db.session.scalar(select(LookupItem).where(LookupItem.list_name == list_name,
                                                      LookupItem.name == name))
    if item is None:
        raise RuleError(f"The practice lists have no {name!r} in {list_name}.")
    return item


def _case(contact: Contact, title: str, note: str, actor: User, days_ago: int,
          referral: str | None = None) -> Case:
    referrals = []
    if referral:
        kind = _item("local_response_type", referral)
        referrals = [ReferralRow(0, response_type_id=kind.id,
                                 extra={f.id: "1" if f.kind == "number" else "" for f in
                                        fields_for(kind.id) if f.kind in ("number", "text")})]
    case = case_services.save_case(None, contact, case_services.CaseInput(
        title=title, who_requires_support="The person who called", beneficiary_id=None,
        beneficiary_consent=None, psychosocial_support=False, safeguarding_activated=False,
        safeguarding_reason=None, feedback_consent=True, ready_for_review=False, note=note,
        signposts=[], referrals=referrals), actor)
    case.created_at = utcnow() - timedelta(days=days_ago)
    contact.last_case_at = case.created_at
    return case


def _interaction(contact: Contact, case: Case, actor: User, days_ago: int,
                 notes: str) -> None:
    create_interaction({
        "fully_anonymous": False, "enquirer_id": contact.id, "enquirer_country": "England",
        "interaction_date": utcnow() - timedelta(days=days_ago),
        "method_id": _item("interaction_method", "Phone Call").id, "direction": "Inbound",
        "call_state_id": _item("call_state", "Completed").id, "duration_mins": 12,
        "case_id": case.id, "out_of_remit": False, "community": False,
        "covid_related": False, "notes": notes, "call_back_required": False},
        [actor], [], actor, link="")


def _accounts() -> dict[str, User]:
    team_by_name(TEAM)
    db.session.flush()
    pw_hash = hash_password(PRACTICE_PASSWORD)
    users = {}
    for role, email, name in PRACTICE_ACCOUNTS:
        users[email] = create_user(email, name, role, "", team=TEAM, password_hash=pw_hash,
                                   frontline_operator=role == "volunteer")
    role, email, name = EARLIER_SHIFT
    users[email] = create_user(email, name, role, "", team=TEAM, frontline_operator=True,
                               password_hash=hash_password(secrets.token_urlsafe(32)))
    users[email].active = False
    db.session.flush()
    return users


def load() -> None:
    """Practice accounts, the reference lists and every scenario's records; never commits."""
    users = _accounts()
    seed_lookups()
    db.session.flush()
    seed_response_type_fields()
    seed_local_teams()
    db.session.flush()
    volunteer, supervisor = users[EARLIER_SHIFT[1]], users[SUPERVISOR]
    for first, last, postcode in BACKGROUND:
        _contact(first, last, None, None, postcode, volunteer)
    by_number = {s.number: s.caller for s in SCENARIOS}
    harold = _caller(by_number[2], volunteer)
    shopping = _case(harold, "Help with shopping", "Harold needs help with his weekly "
                     "shopping; signposted to the local volunteer shopping scheme.",
                     volunteer, 21)
    _interaction(harold, shopping, volunteer, 21, "First call: help with shopping.")
    tomasz = _caller(by_number[3], volunteer)
    prescription = _case(tomasz, "Prescription collection", "Tomasz cannot collect his "
                         "prescription; pharmacy to be confirmed.", volunteer, 2,
                         referral="Medication")
    _interaction(tomasz, prescription, volunteer, 2, "Asked for help collecting his "
                 "prescription. We will ring him to confirm the pharmacy.")
    grace = by_number[4]
    request_services.create_request({
        "full_name": grace.name, "address": f"{grace.address} {grace.postcode}",
        "date_of_birth": grace.dob, "contact_number": grace.phone, "required_at": None,
        "anytime": True, "nature": "New Application", "existing_reason": None,
        "notes": "Overflow call: wants to make a new application. No caseworker was free "
                 "for a warm transfer.",
        "team_id": team_by_name(TEAM).id, "received_at": utcnow() - timedelta(hours=3)},
        supervisor, current_app.config["BASE_URL"],
        lambda req: f"/callback-requests/{req.id}", current_app.config["MP_ENQUIRIES_EMAIL"])
    dorothy = _caller(by_number[5], volunteer)
    parcel = _case(dorothy, "Food parcel needed", "Food parcel arranged with the local "
                   "team; we said we would ring her to confirm the delivery day.",
                   volunteer, 10, referral="Food")
    _interaction(dorothy, parcel, volunteer, 10, "Food parcel arranged. Call back required "
                 "to confirm the delivery day.")


def _caller(caller: Caller, actor: User) -> Contact:
    return _contact(caller.first, caller.last, caller.phone, caller.address, caller.postcode,
                    actor, dob=caller.dob)


MARKER = "mode"  # the settings row the reset writes: value "training"


def _database_place(uri: str, instance_path: str) -> str:
    """One spelling per database: a SQLite file by its resolved path (relative paths are
    relative to the instance folder, as Flask-SQLAlchemy reads them); any other by
    backend, user, host, port and name."""
    url = make_url(uri.strip())
    backend = url.get_backend_name()
    if backend == "sqlite":
        name = url.database or ":memory:"
        if name == ":memory:" or name.startswith("file:"):
            return f"sqlite:{name}"
        return f"sqlite:{(Path(instance_path) / name).resolve()}"
    host = (url.host or "localhost").lower()
    host = "localhost" if host in ("127.0.0.1", "::1") else host
    return f"{backend}://{url.username or ''}@{host}:{url.port or ''}/{url.database or ''}"


def same_database(a: str, b: str, instance_path: str) -> bool:
    """True when two database URLs name the same database."""
    return _database_place(a, instance_path) == _database_place(b, instance_path)


def _check_wipe_allowed() -> list[Path]:
    """Refuse (RuleError) unless this is the training site, its database is not the live
    one and is empty or was loaded by a reset, and its folders lie in the training files
    folder. Returns the folders to delete."""
    config = current_app.config
    if not config.get("TRAINING"):  # never on the live site, whoever calls it
        raise RuleError("training-reset only runs on the training site (HELPLINE_MODE=training).")
    uri = config["SQLALCHEMY_DATABASE_URI"]
    for live in config.get("LIVE_DATABASE_URIS") or []:
        if same_database(uri, live, current_app.instance_path):
            raise RuleError("training-reset refuses to run: TRAINING_DATABASE_URL names the "
                            "live site's database (DATABASE_URL or instance/helpline.db). "
                            "Nothing was deleted. Give the training site its own database.")
    marked = db.session.scalar(select(Setting.value).where(Setting.key == MARKER))
    has_rows = db.session.scalar(select(User.id).limit(1)) is not None or \
        db.session.scalar(select(Contact.id).limit(1)) is not None
    if has_rows and marked != "training":
        raise RuleError("training-reset refuses to run: this database has records and was "
                        "never loaded by training-reset, so it may be a live database. "
                        "Nothing was deleted. Point TRAINING_DATABASE_URL at an empty "
                        "database of its own.")
    base = Path(config.get("TRAINING_FILES_DIR") or "").resolve()
    folders = []
    for key in ("EXPORT_DIR", "ATTACHMENT_DIR"):
        folder = Path(config[key]).resolve()
        if not config.get("TRAINING_FILES_DIR") or not folder.is_relative_to(base) \
                or folder == base:
            raise RuleError(f"training-reset refuses to run: {key} ({folder}) is not inside "
                            f"the training files folder ({base}). Nothing was deleted.")
        folders.append(folder)
    # the mails of earlier practice (Admin → Sent mail) go too, when the catcher keeps them
    # in the training files folder (make run-training's does)
    mail = Path(config.get("MAIL_CATCHER_DIR") or base).resolve()
    if config.get("TRAINING_FILES_DIR") and mail.is_relative_to(base) and mail != base:
        folders.append(mail)
    return folders


def wipe() -> None:
    """Delete every row of the training database (and its export and attachment files),
    after the checks of _check_wipe_allowed."""
    folders = _check_wipe_allowed()
    for table in reversed(db.metadata.sorted_tables):  # children before their parents
        db.session.execute(table.delete())
    for folder in folders:  # emptied, not removed: the mail catcher keeps writing there
        for path in folder.glob("*") if folder.is_dir() else []:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def reset() -> None:
    """Wipe and load the scenarios again; never commits."""
    wipe()
    load()
    db.session.add(Setting(key=MARKER, value="training"))  # later resets may wipe it


def records() -> dict[int, tuple[str, dict, int]]:
    """Where each scenario's stored caller is, by number: (endpoint, its arguments,
    contact id or 0). Looked up by name (a trainee may have renamed or erased one)."""
    found: dict[int, tuple[str, dict, int]] = {}
    for scenario in SCENARIOS:
        first, last = scenario.caller.first, scenario.caller.last
        contact_id = db.session.scalar(select(Contact.id).where(
            Contact.first_name == first, Contact.last_name == last,
            Contact.anonymised_at.is_(None)).order_by(Contact.id).limit(1))
        if contact_id is not None and scenario.caller.stored:
            found[scenario.number] = ("contacts.show", {"contact_id": contact_id}, contact_id)
            continue
        request_id = db.session.scalar(select(CallBackRequest.id).where(
            CallBackRequest.full_name == scenario.caller.name,
            CallBackRequest.anonymised_at.is_(None)).order_by(CallBackRequest.id).limit(1))
        if request_id is not None:
            found[scenario.number] = ("requests.show", {"request_id": request_id}, 0)
    return found
