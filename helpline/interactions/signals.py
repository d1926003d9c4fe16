"""What interactions tell the domains above them without importing them."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# interaction_created.send(interaction, call_ref=…, actor=…): a new interaction was saved
# (call_ref: the phone system's call it was opened from, or None); before the commit
interaction_created = _signals.signal("interaction-created")
