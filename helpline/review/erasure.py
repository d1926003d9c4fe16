"""Erasure by ownership: the rows that belong to one person, and their identifying values.

`collect(contact)` builds the subject's record set from keys (never from text search):
the contact and every contact merged into it, their verifications, the cases where one of
them is caller or beneficiary and everything on those cases, the case drafts typed for them
or on those cases, the interactions where one is
the enquirer or that sit on those cases, the call-back requests linked to them (or, for a
contact that is not a merged-away duplicate, matching them exactly: same name and same phone
or date of birth), those requests' attempts and call backs, and the audit rows,
notifications and outbox mails whose record is one of these.

`Identifiers` then finds the person's values inside those rows only: every name part,
case-insensitively and as whole words; phone digits in any format (+44, 0, spaces, dashes,
brackets); the postcode with or without its space; email; address lines; date of birth in
the usual written forms.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

from sqlalchemy import and_, func, or_, select

from ..audit.models import AuditEntry
from ..callback_requests.models import CallAttempt, CallBackRequest, UniqueCallBack
from ..callbacks.models import CallBack
from ..cases import drafts as case_drafts
from ..cases.models import REFERENCE_OFFSET, Case, CaseNote, Referral
from ..contacts.models import Contact, Verification
from ..extensions import db
from ..interactions.models import REFERENCE_OFFSET as INT_OFFSET
from ..interactions.models import Interaction, InteractionHandler
from ..mailer import OutboxMail
from ..notifications.models import Notification

PLACEHOLDER = "[anonymised]"

# Audit fields whose before/after values are wholly personal (contact and request labels).
PERSONAL_AUDIT_FIELDS = {
    "First Name", "Last Name", "Phone", "Email", "Address", "Postcode", "Date of Birth",
    "Preferred contact time", "Full Name", "Contact number", "Contact Number", "Contact",
    "first_name", "last_name", "phone", "email", "address", "postcode", "date_of_birth",
    "full_name", "contact_number",
}


@dataclass
class SubjectSet:
    """Ids of every row that belongs to the subject, by table."""

    contacts: set[int] = field(default_factory=set)
    verifications: set[int] = field(default_factory=set)
    cases: set[int] = field(default_factory=set)
    notes: set[int] = field(default_factory=set)
    referrals: set[int] = field(default_factory=set)
    interactions: set[int] = field(default_factory=set)
    handlers: set[int] = field(default_factory=set)
    call_backs: set[int] = field(default_factory=set)
    requests: set[int] = field(default_factory=set)
    attempts: set[int] = field(default_factory=set)
    unique: set[int] = field(default_factory=set)  # Functionally Unique call backs
    # Of the call backs and Functionally Unique call backs, those whose number is the
    # subject's own (on cases where the subject is the caller, or raised from the
    # subject's requests); on a case where the subject is only the beneficiary the number
    # is the caller's, and only the subject's values are scrubbed from it.
    own_call_backs: set[int] = field(default_factory=set)
    own_unique: set[int] = field(default_factory=set)
    audit: set[int] = field(default_factory=set)
    notifications: set[int] = field(default_factory=set)
    outbox: set[int] = field(default_factory=set)
    # unsaved case screens (cases.drafts) of the subject as caller or beneficiary, or on
    # the subject's cases: deleted outright, a draft is all personal data
    drafts: set[int] = field(default_factory=set)

    @property
    def case_refs(self) -> set[str]:
        return {f"CA{i + REFERENCE_OFFSET}" for i in self.cases}

    @property
    def interaction_refs(self) -> set[str]:
        return {f"INT{i + INT_OFFSET}" for i in self.interactions}


def _ids(stmt) -> set[int]:
    return set(db.session.scalars(stmt))


def _chunks(values: Iterable, size: int = 500):
    values = sorted(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _in(column, values: set) -> Any:
    """column IN values, split so no statement has more than 500 parameters."""
    if not values:
        return column.in_([])
    return or_(*(column.in_(chunk) for chunk in _chunks(values)))


def _norm_name(value: str | None) -> str:
    return " ".join((value or "").casefold().split())


def phone_digits(value: str | None) -> str:
    """The national significant number: digits without +44 / 0044 / leading 0."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("0044"):
        digits = digits[4:]
    elif digits.startswith("44") and len(digits) > 10:
        digits = digits[2:]
    return digits.lstrip("0")


def collect(contact: Contact) -> SubjectSet:
    """Every row that belongs to this person, found by keys."""
    s = SubjectSet()
    frontier = {contact.id}
    while frontier:  # the contact and, recursively, every duplicate merged into it
        s.contacts |= frontier
        frontier = _ids(select(Contact.id).where(_in(Contact.merged_into_id, frontier))) \
            - s.contacts
    s.verifications = _ids(select(Verification.id).where(
        _in(Verification.contact_id, s.contacts)))
    called = _ids(select(Case.id).where(_in(Case.caller_id, s.contacts)))
    s.cases = called | _ids(select(Case.id).where(_in(Case.beneficiary_id, s.contacts)))
    s.requests = _ids(select(CallBackRequest.id).where(
        _in(CallBackRequest.contact_id, s.contacts)))
    if s.cases:
        # a request on a case the subject called about, not linked to someone else
        # (a beneficiary's erasure never takes the caller's own requests)
        s.requests |= _ids(select(CallBackRequest.id).where(
            _in(CallBackRequest.case_id, called), CallBackRequest.contact_id.is_(None)))
    if contact.merged_into_id is None:
        s.requests |= _exact_requests(contact)
    # requests linked to a case bring that case's rows only when the case is the subject's
    s.notes = _ids(select(CaseNote.id).where(_in(CaseNote.case_id, s.cases)))
    s.referrals = _ids(select(Referral.id).where(_in(Referral.case_id, s.cases)))
    s.interactions = _ids(select(Interaction.id).where(
        _in(Interaction.enquirer_id, s.contacts))) | _ids(select(Interaction.id).where(
            _in(Interaction.case_id, s.cases)))
    s.handlers = _ids(select(InteractionHandler.id).where(
        _in(InteractionHandler.interaction_id, s.interactions)))
    s.attempts = _ids(select(CallAttempt.id).where(_in(CallAttempt.request_id, s.requests)))
    s.unique = _ids(select(UniqueCallBack.id).where(_in(UniqueCallBack.case_id, s.cases)))
    s.own_unique = _ids(select(UniqueCallBack.id).where(_in(UniqueCallBack.case_id, called)))
    s.own_call_backs = _ids(select(CallBack.id).where(_in(CallBack.case_id, called))) | \
        _ids(select(CallBack.id).where(_in(CallBack.request_id, s.requests)))
    s.call_backs = s.own_call_backs | _ids(select(CallBack.id).where(
        _in(CallBack.case_id, s.cases)))
    s.notifications = _ids(select(Notification.id).where(_in(Notification.url, _urls(s))))
    s.outbox = _outbox_ids(s)
    s.audit = _audit_ids(s)
    s.drafts = case_drafts.ids_for(s.contacts, s.cases)
    return s


def _exact_requests(contact: Contact) -> set[int]:
    """Unlinked call-back requests for the same person: the same full name and the same
    phone number or date of birth."""
    name = _norm_name(" ".join(p for p in (contact.first_name, contact.last_name) if p))
    if not name:
        return set()
    digits = phone_digits(contact.phone)
    out = set()
    candidates = db.session.execute(
        select(CallBackRequest.id, CallBackRequest.full_name, CallBackRequest.contact_number,
               CallBackRequest.date_of_birth)
        .where(CallBackRequest.contact_id.is_(None),
               func.lower(CallBackRequest.full_name).contains(name.split()[-1], autoescape=True)))
    for rid, full_name, number, dob in candidates:
        if _norm_name(full_name) != name:
            continue
        if (digits and phone_digits(number) == digits) or \
                (contact.date_of_birth and dob == contact.date_of_birth):
            out.add(rid)
    return out


def _audit_ids(s: SubjectSet) -> set[int]:
    keys = [("contact", {str(i) for i in s.contacts}), ("case", s.case_refs),
            ("interaction", s.interaction_refs), ("call back", {str(i) for i in s.call_backs}),
            ("call-back request", {str(i) for i in s.requests}),
            ("call-back request paper form", {str(i) for i in s.requests}),
            ("call-back request letters", {str(i) for i in s.requests}),
            ("functionally unique call back", {str(i) for i in s.unique}),
            ("mail", {str(i) for i in s.outbox})]
    out: set[int] = set()
    for record_type, ids in keys:
        if ids:
            out |= _ids(select(AuditEntry.id).where(AuditEntry.record_type == record_type,
                                                    _in(AuditEntry.record_id, ids)))
    return out


def _urls(s: SubjectSet) -> set[str]:
    """Notification links of the set's records, relative and absolute (BASE_URL)."""
    from flask import current_app
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    paths = _paths(s)
    return paths | ({base + p for p in paths} if base else set())


def _paths(s: SubjectSet) -> set[str]:
    urls = {f"/contacts/{i}" for i in s.contacts} | {f"/cases/{i}" for i in s.cases} | \
        {f"/interactions/{i}" for i in s.interactions} | \
        {f"/callbacks/{i}" for i in s.call_backs} | \
        {f"/callback-requests/{i}" for i in s.requests}
    return urls


# Outbox keys start with the kind of record and its id (see the queue_mail callers).
OUTBOX_PREFIXES = (("case-assign-{}-", "cases"), ("callback-overdue-{}-", "call_backs"),
                   ("cbr-new-{}-", "requests"), ("cbr-mp-{}", "requests"),
                   ("cbr-allocate-{}-", "requests"), ("interaction-assign-{}", "handlers"),
                   ("fu-callback-{}", "unique"),
                   ("local-referral-{}", "referrals"))  # the local team's referral mail


def _outbox_ids(s: SubjectSet) -> set[int]:
    conds = []
    for pattern, attr in OUTBOX_PREFIXES:
        for record_id in getattr(s, attr):
            prefix = pattern.format(record_id)
            if pattern.endswith("}"):  # the whole key
                conds.append(OutboxMail.key == prefix)
            else:  # a key range uses the unique index on both databases
                conds.append(and_(OutboxMail.key >= prefix, OutboxMail.key < prefix[:-1] + "."))
    out: set[int] = set()
    for i in range(0, len(conds), 200):
        out |= _ids(select(OutboxMail.id).where(or_(*conds[i:i + 200])))
    return out


def outbox_keys(s: SubjectSet) -> set[str]:
    if not s.outbox:
        return set()
    return set(db.session.scalars(select(OutboxMail.key).where(_in(OutboxMail.id, s.outbox))))


# --- identifying values ------------------------------------------------------------

_SEP = r"[\s\-.()/]*"


def _word(text: str) -> str:
    """A literal, whitespace-flexible, matched as a whole word: not inside a longer word
    ("Lee" keeps "Leeds"), but found beside digits or underscores ("Lee_0770.pdf")."""
    parts = [re.escape(p) for p in text.split()]
    return r"(?<![^\W\d_])" + r"\s+".join(parts) + r"(?![^\W\d_])"


def _phone_pattern(digits: str) -> str:
    body = _SEP.join(re.escape(d) for d in digits)
    return r"(?<!\d)(?:(?:\+|00)\s*44" + _SEP + r"(?:\(?0\)?)?|0)?" + _SEP + body + r"(?!\d)"


def _date_forms(d: date) -> list[str]:
    return [d.isoformat(), f"{d:%d/%m/%Y}", f"{d.day}/{d.month}/{d.year}", f"{d:%d-%m-%Y}",
            f"{d:%d.%m.%Y}", f"{d:%d/%m/%y}", f"{d.day} {d:%B %Y}", f"{d.day} {d:%b %Y}",
            f"{d:%d %B %Y}", f"{d:%d %b %Y}", f"{d:%Y%m%d}"]


class Identifiers:
    """The person's identifying values, and a scrubber that removes them from text."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.phones: set[str] = set()
        self.postcodes: set[str] = set()
        self.emails: set[str] = set()
        self.addresses: set[str] = set()
        self.dates: set[date] = set()
        self.texts: set[str] = set()  # whole values (old values from the audit trail)
        self._regex: re.Pattern | None = None

    def add_name(self, value: str | None) -> None:
        value = " ".join((value or "").split())
        if not value or value == PLACEHOLDER:
            return
        self.names.add(value)
        for part in re.split(r"[\s\-']+", value):
            if len(part) >= 2:
                self.names.add(part)

    def add_phone(self, value: str | None) -> None:
        digits = phone_digits(value)
        if len(digits) >= 6:
            self.phones.add(digits)

    def add_postcode(self, value: str | None) -> None:
        compact = re.sub(r"\s", "", value or "").upper()
        if len(compact) >= 5:
            self.postcodes.add(compact)

    def add_address(self, value: str | None) -> None:
        for line in re.split(r"[\n,;]+", value or ""):
            line = " ".join(line.split())
            if len(line) >= 4:
                self.addresses.add(line)
                # a postcode written inside the address
                for m in re.finditer(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", line, re.I):
                    self.add_postcode(m.group(0))

    def add_email(self, value: str | None) -> None:
        if value and "@" in value:
            self.emails.add(value.strip())

    def add_date(self, value: Any) -> None:
        if isinstance(value, date):
            self.dates.add(value)
        elif isinstance(value, str):
            try:
                self.dates.add(date.fromisoformat(value.strip()[:10]))
            except ValueError:
                pass

    def add_text(self, value: str | None) -> None:
        value = " ".join((value or "").split())
        if len(value) >= 3 and value != PLACEHOLDER:
            self.texts.add(value)

    def add_contact(self, c: Contact) -> None:
        self.add_name(c.first_name)
        self.add_name(c.last_name)
        self.add_name(" ".join(p for p in (c.first_name, c.last_name) if p))
        self.add_phone(c.phone)
        self.add_postcode(c.postcode)
        self.add_email(c.email)
        self.add_address(c.address)
        self.add_date(c.date_of_birth)
        self.add_text(c.preferred_contact_time)

    def add_request(self, r: CallBackRequest) -> None:
        self.add_name(r.full_name)
        self.add_phone(r.contact_number)
        self.add_address(r.address)
        self.add_date(r.date_of_birth)

    @property
    def regex(self) -> re.Pattern | None:
        if self._regex is None:
            patterns = []
            patterns += [re.escape(e) for e in self.emails]
            patterns += [_word(t) for t in self.texts]
            patterns += [_word(a) for a in self.addresses]
            patterns += [_phone_pattern(p) for p in self.phones]
            patterns += [r"(?<![A-Z\d])" + re.escape(p[:-3]) + r"\s*" + re.escape(p[-3:])
                         + r"(?![A-Z\d])" for p in self.postcodes]
            patterns += [r"(?<![\w/.-])" + re.escape(f) + r"(?![\w/-])"
                         for d in self.dates for f in _date_forms(d)]
            patterns += [_word(n) for n in self.names]
            # longest first, so "Amy Brown" goes as one, not as two placeholders
            patterns.sort(key=len, reverse=True)
            self._regex = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None
        return self._regex

    def scrub(self, value: Any) -> Any:
        """The value with every identifying value replaced; other types are walked."""
        if isinstance(value, str):
            if self.regex is None:
                return value
            out = self.regex.sub(PLACEHOLDER, value)
            # collapse runs such as "[anonymised] [anonymised]"
            return re.sub(r"\[anonymised\](?:[\s,]+\[anonymised\])+", PLACEHOLDER, out)
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return value

    def found_in(self, value: str) -> bool:
        return bool(self.regex and self.regex.search(value or ""))


# an audited field's label → how its old values are added (the first word found wins)
_OLD_VALUE_KINDS = (("phone", "add_phone"), ("number", "add_phone"),
                    ("postcode", "add_postcode"), ("email", "add_email"),
                    ("address", "add_address"), ("birth", "add_date"), ("name", "add_name"))


def _add_old_values(ids: Identifiers, s: SubjectSet) -> None:
    """Old values of the subjects' own records in the audit trail (a changed phone number
    or name); a case's "Contact" change names the person too: scrubbed, not added."""
    own_ids = {"contact": {str(i) for i in s.contacts},
               "call-back request": {str(i) for i in s.requests}}
    for entry in db.session.scalars(select(AuditEntry).where(
            _in(AuditEntry.id, s.audit), AuditEntry.field.in_(PERSONAL_AUDIT_FIELDS))):
        if entry.record_id not in own_ids.get(entry.record_type, ()):
            continue
        assert entry.field is not None  # field IN (...) never matches NULL
        label = entry.field.lower().replace("_", " ")
        adder = next((m for word, m in _OLD_VALUE_KINDS if word in label), "add_text")
        for value in (entry.before, entry.after):
            if value:
                getattr(ids, adder)(value)


def identifiers(s: SubjectSet) -> Identifiers:
    """The identifying values of every contact and request in the set, and their old values
    recorded in the audit trail (a changed phone number or name)."""
    ids = Identifiers()
    for c in db.session.scalars(select(Contact).where(_in(Contact.id, s.contacts))):
        ids.add_contact(c)
    for r in db.session.scalars(select(CallBackRequest).where(
            _in(CallBackRequest.id, s.requests))):
        ids.add_request(r)
    for number in db.session.scalars(select(CallBack.contact_number).where(
            _in(CallBack.id, s.own_call_backs))):
        ids.add_phone(number)
    for number in db.session.scalars(select(UniqueCallBack.contact_number).where(
            _in(UniqueCallBack.id, s.own_unique))):
        ids.add_phone(number)
    _add_old_values(ids, s)
    return ids
