"""Low-spec PC: every main page usable within 3 s on Chromium at CPU ×6 and Slow 3G (exit 0).

Runs tests/browser/test_lowspec.py (which allows CPU slack for CI) with the 3.0 s target.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    load_before = os.getloadavg()[0]
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-q",
                           "tests/browser/test_lowspec.py"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "HELPLINE_LOWSPEC_USABLE_WITHIN": "3.0"})
    lines = [ln for ln in done.stdout.splitlines() if not ln.startswith(("INFO", "WARNI"))]
    start = next((i for i, ln in enumerate(lines) if ln.startswith("low-spec:")), None)
    print("\n".join(lines[start:] if start is not None else lines[-40:]))
    print(f"\n3 s target: {'PASS' if done.returncode == 0 else 'FAIL'}")
    print(f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
