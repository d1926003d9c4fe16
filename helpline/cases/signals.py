"""What cases tell the domains above them (call backs, …) without importing them."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sent as owner_changed.send(case, previous_owner_id=…, actor=…) after a case changed owner
owner_changed = _signals.signal("case-owner-changed")

# case_access.send(case, user=user) -> [(receiver, contacts.access.Access | None), …]:
# whether the work on a case belongs to that user through something above cases
case_access = _signals.signal("case-access")

# case_accepted.send(case, actor=…) at the end of the data team's accept (review.services):
# what waits for the review (Local Referrals) goes on, in the same transaction
case_accepted = _signals.signal("case-accepted")
