#!/usr/bin/env python3
"""Regenerate docs/screenshots/ from the browser test (benign synthetic pictures, blurred).

Runs tests/web/test_browser.py with KEEPDOWN_SCREENSHOTS pointing at docs/screenshots, so the
pictures show exactly what the test checked: a 1366x768 window, the seeded loopback data,
previews blurred and grayscale (the test never captures a revealed picture).

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    env = dict(os.environ, KEEPDOWN_SCREENSHOTS=str(ROOT / "docs" / "screenshots"))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/web/test_browser.py",
    ]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
