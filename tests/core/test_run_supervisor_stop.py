"""Supervisor.stop() after a child that could not be started (found by the type check):
the children already running are still stopped, and the start error is what is seen."""
from __future__ import annotations

import sys

import pytest

from helpline.run import Supervisor


def test_stop_after_a_failed_start_still_stops_the_children_already_running(tmp_path):
    sup = Supervisor()
    sleeper = sup.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], {})
    with pytest.raises(OSError):
        sup.start("missing", [str(tmp_path / "no-such-program")], {})
    sup.stop()  # used to fail with AttributeError on the child that never started
    assert sleeper.poll() is not None  # stopped, not left running
