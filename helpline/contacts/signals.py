"""What contacts tell the domains above them (cases, interactions, call-back requests,
erasure) without importing them."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from blinker import Namespace

_signals = Namespace()

# merging.send(loser, survivor=…, actor=…, ip=…, reason=…) -> [(receiver, {label: count})]:
# each domain above moves the rows that link to the loser onto the survivor (audited) and
# says how many it moved, e.g. {"Cases moved": 2}
merging = _signals.signal("contacts-merging")

# merged.send(loser, survivor=…, actor=…) after the moves: the loser is erased
merged = _signals.signal("contacts-merged")

# cases_shown.send(contact, user=…, only_own=…, page=n) -> [(receiver, Pagination)]: the page
# of cases the contact page lists (only_own: those whose work is the user's, when not verified)
cases_shown = _signals.signal("contact-cases-shown")

# details_noted.send(contact, text=…, actor=…) -> [(receiver, reference)]: a change of
# name, phone, postcode or address is noted on a case (its reference)
details_noted = _signals.signal("contact-details-noted")

# new_contact_source.send(request_id, user=…) -> [(receiver, ContactSource | None)]: the call-back
# request a new contact is being made from (it fills the form and is linked to the contact)
new_contact_source = _signals.signal("new-contact-source")


@dataclass
class ContactSource:
    """A record a new contact is created from: what it fills in, and how it is linked."""

    id: int
    full_name: str
    record_type: str
    prefill: dict[str, Any]
    link: Callable[[Any, Any], None]  # link(contact, actor), in the same transaction
    url: str  # where the handler goes after saving
    allowed: bool = True  # False: the user may not see that record (a 403)
