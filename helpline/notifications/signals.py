"""What the event stream asks of the domains above notifications, without importing them."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# stream_frames.send(app, session=…, user_id=…) -> [(receiver, [(event, html), …])]:
# frames a domain adds to each batch of a user's events (its live navigation badge)
stream_frames = _signals.signal("stream-frames")
