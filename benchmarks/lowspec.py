"""Low-spec PC: every main page usable within 3 s on Chromium at CPU ×6 and Slow 3G.

Runs tests/browser/test_lowspec.py with the 3.0 s target (the test suite itself allows
CPU slack on a shared CI machine) and prints its table of figures: for each main page the
seconds from navigation start until its main control is visible, enabled and painted,
with the static files cached, plus a first visit and a search-and-open.

    .venv/bin/python benchmarks/lowspec.py            # exit status 0 = every page within 3 s
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    env = {**os.environ, "HELPLINE_LOWSPEC_USABLE_WITHIN": "3.0"}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-q",
           "tests/browser/test_lowspec.py"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines()
             if not line.startswith(("INFO", "WARNI"))]
    start = next((i for i, line in enumerate(lines) if line.startswith("low-spec:")), None)
    print("\n".join(lines[start:] if start is not None else lines[-40:]))
    print(f"\n3 s target: {'PASS' if done.returncode == 0 else 'FAIL'}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
