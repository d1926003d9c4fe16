"""What call backs ask of the domains above them, without importing them."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# request_visible.send(call_back, user=…) -> [(receiver, bool)]: whether the user may see
# the call-back request a call back (with no case) was raised for
request_visible = _signals.signal("call-back-request-visible")
