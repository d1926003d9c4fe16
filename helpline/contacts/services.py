"""Contact rules: create, search, duplicates, verification, audited changes."""
from __future__ import annotations

import difflib
import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import and_, bindparam, func, or_, select, union_all

from .. import audit
from ..auth.models import User
from ..extensions import db
from ..rules import RuleError
from . import postcodes, signals
from .matching import fold, soundex
from .models import CONSENT_GIVEN_BY, Contact, Verification

# Changes to these need a reason (the FAQ's "spelling fixes and changed phone numbers").
REASON_FIELDS = ("first_name", "last_name", "phone", "postcode", "address")
FIELD_LABELS = {
    "first_name": "First Name", "last_name": "Last Name", "phone": "Phone", "email": "Email",
    "address": "Address", "postcode": "Postcode", "postcode_area": "Postcode (Lookup)",
    "region": "Region (Lookup)", "date_of_birth": "Date of Birth",
    "preferred_contact_time": "Preferred contact time", "consent_status": "Consent Status",
    "consent_given_by": "Consent Given By", "consent_decision_date": "Consent Decision Date",
    "consent_provider_id": "Contact Providing Consent",
}
PER_PAGE = 25
COUNT_CAP = 1000




def set_search_keys(contact: Contact) -> None:
    """Keep the lower-cased search keys in step with the visible fields."""
    contact.first_key = fold(contact.first_name) or None
    contact.last_key = fold(contact.last_name) or None
    full = " ".join(p for p in (contact.first_key, contact.last_key) if p)
    contact.full_key = full or None
    contact.phone_key = postcodes.phone_key(contact.phone)
    contact.postcode_key = postcodes.postcode_key(contact.postcode)
    contact.last_sound = soundex(contact.last_name)


def create_contact(values: Mapping[str, Any], actor: User, session_id: str | None = None,
                   ip: str | None = None) -> Contact:
    """Create a contact from validated values; the creator counts as having verified it."""
    contact = Contact(**values, created_by_id=actor.id)
    set_search_keys(contact)
    db.session.add(contact)
    db.session.flush()
    audit.record(actor, "create", "contact", contact.id, ip=ip,
                 changes={FIELD_LABELS.get(k, k): (None, v) for k, v in values.items()
                          if v not in (None, "")})
    db.session.add(Verification(contact_id=contact.id, user_id=actor.id, session_id=session_id,
                                details="Created during this call"))
    return contact


def create_beneficiary(values: Mapping[str, Any], caller: Contact, actor: User,
                       session_id: str | None = None, ip: str | None = None) -> Contact:
    """Quick Create on the case screen: a beneficiary whose consent the caller gives on their
    behalf. Never commits."""
    return create_contact({**values, "consent_given_by": CONSENT_GIVEN_BY[1],
                           "consent_provider_id": caller.id}, actor, session_id, ip)


def update_contact(contact: Contact, values: Mapping[str, Any], reason: str | None,
                   actor: User, ip: str | None = None) -> dict[str, tuple[Any, Any]]:
    """Apply changes; name, phone, postcode or address changes need a reason."""
    reason = (reason or "").strip()
    touched = [k for k in REASON_FIELDS if k in values and
               (values[k] or None) != (getattr(contact, k) or None)]
    if touched and not reason:
        names = ", ".join(FIELD_LABELS[k] for k in touched)
        raise RuleError(f"Give a reason for changing {names}", field="reason")
    changes = audit.diff(contact, dict(values))
    if not changes:
        return {}
    set_search_keys(contact)
    audit.record(actor, "update", "contact", contact.id, ip=ip, reason=reason or None,
                 changes={FIELD_LABELS.get(k, k): v for k, v in changes.items()})
    return changes


def describe_changes(changes: Mapping[str, tuple[Any, Any]], reason: str | None) -> str:
    """A note such as: Phone changed from "07700 900123" to "07700 900456". Reason: typo."""
    parts = [f'{FIELD_LABELS.get(k, k)} changed from "{b or ""}" to "{a or ""}"'
             for k, (b, a) in changes.items()]
    text = "Contact details updated: " + "; ".join(parts) + "."
    return text + (f" Reason: {reason.strip()}" if reason and reason.strip() else "")


# --- search -----------------------------------------------------------------

def _upper(prefix: str) -> str:
    """The first string after every string starting with prefix, in code point order (as
    both databases compare the keys). The next code point skips the surrogates, which no
    text can hold, and a prefix ending in the last code point moves up the one before."""
    stem = prefix.rstrip("\U0010ffff")
    if not stem:  # nothing sorts after it: bound it by itself and one more last code point
        return prefix + "\U0010ffff"
    after = ord(stem[-1]) + 1
    return stem[:-1] + chr(0xE000 if 0xD800 <= after <= 0xDFFF else after)


def _prefix(column, prefix: str):
    """column starts with prefix, as a range the index can use (no LIKE escaping needed)."""
    return and_(column >= prefix, column < _upper(prefix))


_PHONEISH = re.compile(r"^[+\d][\d\s().-]{3,}$")
_POSTCODEISH = re.compile(r"^[A-Za-z]{1,2}\d[A-Za-z\d]?(\s*\d[A-Za-z]{0,2})?$")
# A one-word name search reads its surname matches in name order (walking the name index)
# once there are this many of them, and sorts them below that: at 1M contacts both cost
# about 0.5 ms there (SQLite; PostgreSQL's planner makes the same choice itself).
WALK_FROM = 4000


def _between(column, name: str):
    """column starts with the bound prefix `name` (its upper bound bound as name_end)."""
    return and_(column >= bindparam(name), column < bindparam(f"{name}_end"))


def _bounds(name: str, prefix: str) -> dict[str, str]:
    return {name: prefix, f"{name}_end": _upper(prefix)}


def _name_arms(one_word: bool, where: list, sqlite: bool, walk: bool) -> list:
    """A name search as selects of (full_key, id) that share no row, whose union is what
    first_key/last_key/full_key prefix matching finds, each cheap on one index.

    One word w: names starting with w (a first name starting with w is a full_key
    starting with w), then surnames starting with w. Several words "f rest": full names
    starting with the text; first names strictly longer than f with a surname starting
    with rest (a first name equal to f is already in the first arm); surnames holding the
    whole text."""
    # not in the first arm; IS NOT TRUE (full_key is never NULL in these arms) rather than an
    # OR of two ranges, which PostgreSQL would read as two bitmap scans and then the table
    not_full = _between(Contact.full_key, "text").is_not(True)
    arms = [select(Contact.full_key, Contact.id).where(*where, _between(Contact.full_key, "text"))]
    if one_word:
        # SQLite has no statistics to tell a common surname from a rare one: `walk` says
        # which it is; `|| ''` keeps it off the surname index so it walks the name index.
        last = Contact.last_key.concat("") if walk else Contact.last_key
        surnames = [Contact.full_key.is_not(None)] if walk else []
        return arms + [select(Contact.full_key, Contact.id).where(
            *where, *surnames, _between(last, "text"), not_full)]
    longer_first = [Contact.first_key > bindparam("first"),
                    Contact.first_key < bindparam("first_end")]
    if sqlite:  # skip-scan the few first names longer than `first` (no statistics on SQLite)
        firsts = select(select(func.min(Contact.first_key)).where(*longer_first)
                        .scalar_subquery().label("k")).cte("firsts", recursive=True)
        firsts = firsts.union_all(select(select(func.min(Contact.first_key)).where(
            Contact.first_key > firsts.c.k, Contact.first_key < bindparam("first_end"))
            .scalar_subquery()).where(firsts.c.k.is_not(None)))
        arms.append(select(Contact.full_key, Contact.id).join_from(
            firsts, Contact, Contact.first_key == firsts.c.k)
            .where(*where, _between(Contact.last_key, "rest"), not_full))
    else:
        arms.append(select(Contact.full_key, Contact.id).where(
            *where, *longer_first, _between(Contact.last_key, "rest"), not_full))
    in_second = and_(Contact.first_key.is_not(None), *longer_first,
                     _between(Contact.last_key, "rest"))
    return arms + [select(Contact.full_key, Contact.id).where(
        *where, _between(Contact.last_key, "text"), not_full, ~in_second)]


@functools.lru_cache(maxsize=None)
def _statements(shape: str, sqlite: bool, walk: bool, letter: bool) -> tuple:
    """(capped count, page) of one kind of search, with bound parameters: built once.

    shape: "phone", "postcode", "word" (a one-word name) or "words"."""
    where = [Contact.active.is_(True)] + ([_between(Contact.full_key, "letter")] if letter else [])
    if shape in ("phone", "postcode"):
        # Few rows share a phone or postcode prefix: sort them (the index covers the sort key).
        cond = [*where, _between(Contact.phone_key if shape == "phone" else Contact.postcode_key,
                                 "key")]
        count = select(func.count()).select_from(
            select(Contact.id).where(*cond).limit(bindparam("cap")).subquery())
        ids = select(Contact.full_key, Contact.id).where(*cond).order_by(
            Contact.full_key.is_(None), Contact.full_key, Contact.id) \
            .offset(bindparam("offset")).limit(bindparam("limit")).subquery()
        return count, _rows(ids, nulls_last=True)
    arms = _name_arms(shape == "word", where, sqlite, walk)
    counts = [select(func.count()).select_from(
        union_all(*arms).limit(bindparam("cap")).subquery()).scalar_subquery()]
    if sqlite and shape == "word":  # how many surnames match, up to walk_from
        counts.append(select(func.count()).select_from(select(Contact.id).where(
            *where, _between(Contact.last_key, "text")).limit(bindparam("walk_from"))
            .subquery()).scalar_subquery())
    # Each arm gives its first offset+limit rows by name (an index range, or a short sort);
    # the page is the first of those, merged.
    merged = union_all(*(a.order_by(Contact.full_key, Contact.id).limit(bindparam("n"))
                         .subquery().select() for a in arms)).subquery()
    ids = select(merged.c.full_key, merged.c.id).order_by(merged.c.full_key, merged.c.id) \
        .offset(bindparam("offset")).limit(bindparam("limit")).subquery()
    return select(*counts), _rows(ids)


def _rows(ids, nulls_last: bool = False):
    """The contacts of a page of (full_key, id), in that order."""
    order = [ids.c.full_key.is_(None)] if nulls_last else []
    return select(Contact).join(ids, Contact.id == ids.c.id).order_by(
        *order, ids.c.full_key, ids.c.id)


@dataclass
class Page:
    """One page of results, with a capped total."""

    items: list[Contact]
    page: int
    total: int
    capped: bool
    per_page: int = PER_PAGE
    extra: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def search_contacts(q: str | None = None, letter: str | None = None, page: int = 1,
                    per_page: int = PER_PAGE) -> Page:
    """Active contacts, optionally by first letter and/or a search, sorted by name."""
    where = [Contact.active.is_(True)]
    letter = letter.lower() if letter and len(letter) == 1 and letter.isalpha() else None
    if letter:
        where.append(_prefix(Contact.full_key, letter))
    page = max(1, page)
    offset = (page - 1) * per_page
    if q and q.strip():
        total, items = _search(q.strip()[:200], letter, offset, per_page, page)
    else:
        total = db.session.scalar(select(func.count()).select_from(
            select(Contact.id).where(*where).limit(COUNT_CAP + 1).subquery())) or 0
        items = _page_of(where, offset, per_page)
    return Page(items, page, min(total, COUNT_CAP), total > COUNT_CAP, per_page)


def _search(q: str, letter: str | None, offset: int, limit: int,
            page: int) -> tuple[int, list[Contact]]:
    """"Search this view": phone, postcode or name; named contacts by name, then anonymous
    ones by id. Two statements: a capped count, and the page (ids first, rows for those)."""
    params: dict[str, Any] = {"offset": offset, "limit": limit, "n": offset + limit,
                              "cap": COUNT_CAP + 1, "walk_from": int(WALK_FROM * math.sqrt(page))}
    params |= _bounds("letter", letter) if letter else {}
    if _PHONEISH.match(q) and len(re.sub(r"\D", "", q)) >= 4:
        shape, key = "phone", postcodes.phone_key(q)
    elif _POSTCODEISH.match(q):
        shape, key = "postcode", postcodes.postcode_key(q)
    else:
        key = fold(q)
        tokens = key.split(" ")
        shape = "word" if len(tokens) == 1 else "words"
        params |= _bounds("first", tokens[0]) | _bounds("rest", " ".join(tokens[1:])) \
            if len(tokens) > 1 else {}
    if not key:
        return 0, []
    params |= _bounds("key", key) | _bounds("text", key)
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    count, _ = _statements(shape, sqlite, False, bool(letter))
    counts = db.session.execute(count, params).one()
    # deeper pages walk further: walk_from grows with the square root of the page
    walk = shape == "word" and sqlite and counts[-1] >= params["walk_from"]
    _, rows = _statements(shape, sqlite, walk, bool(letter))
    return counts[0], list(db.session.scalars(rows, params))


def _page_of(where: list, offset: int, limit: int) -> list[Contact]:
    """Named contacts by name, then those without a name (anonymous callers) by id.

    Two queries rather than ORDER BY full_key IS NULL: that expression cannot use the
    (active, full_key) index, and sorting a million rows for every page costs 200 ms."""
    named = list(db.session.scalars(
        select(Contact).where(*where, Contact.full_key.is_not(None))
        .order_by(Contact.full_key, Contact.id).offset(offset).limit(limit)))
    if len(named) == limit:
        return named
    named_total = offset + len(named) if named else db.session.scalar(
        select(func.count(Contact.id)).where(*where, Contact.full_key.is_not(None))) or 0
    unnamed = db.session.scalars(
        select(Contact).where(*where, Contact.full_key.is_(None)).order_by(Contact.id)
        .offset(max(0, offset - named_total)).limit(limit - len(named)))
    return named + list(unnamed)


@dataclass
class Duplicate:
    """A likely existing contact and why it looks like the one being typed."""

    contact: Contact
    reasons: list[str]
    score: float


def possible_duplicates(first_name: str | None, last_name: str | None, phone: str | None,
                        postcode: str | None, exclude_id: int | None = None,
                        limit: int = 6) -> list[Duplicate]:
    """Contacts with a similar name, the same phone, or the same surname and postcode."""
    first, last = fold(first_name), fold(last_name)
    pkey = postcodes.phone_key(phone) if phone else None
    post = postcodes.postcode_key(postcode) if postcode else None
    conds = []
    sound = soundex(last) if last else None
    if sound:
        conds.append(Contact.last_sound == sound)
    if pkey and len(pkey) >= 9:
        conds.append(Contact.phone_key == pkey)
    if not conds:
        return []
    stmt = select(Contact).where(Contact.active.is_(True), or_(*conds)).limit(200)
    if exclude_id:
        stmt = stmt.where(Contact.id != exclude_id)
    found = []
    for c in db.session.scalars(stmt):
        dup = _score(c, first, last, pkey, post)
        if dup:
            found.append(dup)
    found.sort(key=lambda d: (-d.score, d.contact.full_name))
    return found[:limit]


def _score(c: Contact, first: str, last: str, pkey: str | None,
           post: str | None) -> Duplicate | None:
    reasons, score = [], 0.0
    if pkey and c.phone_key == pkey:
        reasons.append("Same phone")
        score += 3
    if last and c.last_key:
        similarity = difflib.SequenceMatcher(None, last, c.last_key).ratio()
        first_ok = not first or not c.first_key or c.first_key[:1] == first[:1]
        if similarity >= 0.75 and first_ok:
            reasons.append("Same name" if similarity == 1 and (
                not first or c.first_key == first) else "Similar name")
            score += 1 + similarity + (1 if first and c.first_key == first else 0)
        if post and c.postcode_key == post and similarity >= 0.75:
            reasons.append("Same surname and postcode")
            score += 2
    return Duplicate(c, reasons, score) if reasons else None


# --- verification -----------------------------------------------------------

def needs_verification(user: User) -> bool:
    """Volunteers must verify the caller before case details are shown."""
    return user.role == "volunteer"


def is_verified(contact: Contact, user: User, session_id: str | None) -> bool:
    """Whether this handler recorded verification for this contact in this session."""
    if not needs_verification(user):
        return True
    return db.session.scalar(select(Verification.id).where(
        Verification.contact_id == contact.id, Verification.user_id == user.id,
        Verification.session_id == session_id).limit(1)) is not None


def verify(contact: Contact, actor: User, session_id: str | None, details: list[str],
           ip: str | None = None) -> Verification:
    """Record that the caller confirmed these details; audited."""
    if not details:
        raise RuleError("Select the details the caller confirmed", field="details")
    text = ", ".join(details)
    row = Verification(contact_id=contact.id, user_id=actor.id, session_id=session_id,
                       details=text)
    db.session.add(row)
    audit.record(actor, "verify", "contact", contact.id, ip=ip,
                 reason=f"Caller verified: {text}")
    return row


# --- merge ------------------------------------------------------------------

MERGE_FIELDS = ("first_name", "last_name", "phone", "email", "address", "postcode",
                "postcode_area", "region", "date_of_birth", "preferred_contact_time",
                "consent_status", "consent_given_by", "consent_decision_date")


def merge_contacts(survivor: Contact, loser: Contact, take_from_loser: list[str],
                   actor: User, ip: str | None = None) -> Contact:
    """Merge two duplicates: chosen values from the loser; its cases, interactions and
    call-back requests move to the survivor (each move audited); then the loser is
    deactivated and erased like any other subject (privacy.anonymise). Never commits."""
    if survivor.id == loser.id:
        raise RuleError("Choose two different contacts", field="other")
    values = {f: getattr(loser, f) for f in take_from_loser if f in MERGE_FIELDS}
    changes = audit.diff(survivor, values)
    set_search_keys(survivor)
    reason = f"Merged contact {loser.id} into {survivor.id}"
    moved: dict[str, int] = {}
    for _receiver, counts in signals.merging.send(loser, survivor=survivor, actor=actor, ip=ip,
                                                  reason=reason):
        moved |= counts or {}
    for row in db.session.scalars(select(Contact).where(Contact.consent_provider_id == loser.id)):
        row.consent_provider_id = survivor.id
    if loser.last_case_at and (not survivor.last_case_at or loser.last_case_at > survivor.last_case_at):
        survivor.last_case_at = loser.last_case_at
    loser.active, loser.merged_into_id = False, survivor.id
    audit.record(actor, "merge", "contact", survivor.id, ip=ip, reason=reason,
                 changes={FIELD_LABELS.get(k, k): v for k, v in changes.items()})
    audit.record(actor, "merge", "contact", loser.id, ip=ip, reason=reason,
                 changes={"Active": (True, False), "Merged into": (None, survivor.id),
                          **{label: (None, n) for label, n in sorted(moved.items())}})
    # Its verifications stay with it (the caller confirmed the loser's details, which may
    # differ from the survivor's) and are erased with it.
    db.session.flush()
    signals.merged.send(loser, survivor=survivor, actor=actor)  # erasure erases the loser
    return survivor


def move_links(model, column, record_type: str, label: str, loser: Contact, survivor: Contact,
               actor: User, ip: str | None, reason: str) -> int:
    """Point the rows of `model` whose `column` is the loser at the survivor (by key, never
    by text), each move audited; for the domains answering `signals.merging`."""
    n = 0
    for row in db.session.scalars(select(model).where(column == loser.id).order_by(model.id)):
        setattr(row, column.key, survivor.id)
        n += 1
        audit.record(actor, "merge", record_type, getattr(row, "reference", row.id), ip=ip,
                     reason=reason, changes={label: (f"contact {loser.id}",
                                                     f"contact {survivor.id}")})
    return n
