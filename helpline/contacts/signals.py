"""What contacts tell the domains above them (cases, interactions, call-back requests,
erasure) without importing them."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# merging.send(loser, survivor=…, actor=…, ip=…, reason=…) -> [(receiver, {label: count})]:
# each domain above moves the rows that link to the loser onto the survivor (audited) and
# says how many it moved, e.g. {"Cases moved": 2}
merging = _signals.signal("contacts-merging")

# merged.send(loser, survivor=…, actor=…) after the moves: the loser is erased
merged = _signals.signal("contacts-merged")
