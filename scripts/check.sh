#!/usr/bin/env bash
# Every check keepdown has, in one command: install (into .venv unless KEEPDOWN_VENV says
# otherwise), ruff lint, ruff format check, mypy, import-linter contracts, then pytest.
# Extra arguments go to pytest, e.g. `bash scripts/check.sh -k pdq -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${KEEPDOWN_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e '.[dev]'
bash scripts/services.sh
# The web's browser tests drive Debian's Chromium through Playwright (never a downloaded one).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# The block list's forms are tested in the programs ISPs run (tests/blocklist/test_services.py):
# Debian's unbound (RPZ) and squid (ACL files), started by the tests on loopback.
if { [ ! -x /usr/sbin/unbound ] || [ ! -x /usr/sbin/squid ]; } && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq unbound squid >/dev/null
fi
# The in-browser hashes are checked against keepdown's Python with node's test runner
# (tests/web/test_selfhash_node.py): Debian's nodejs when no node is installed.
if ! command -v node >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
fi
echo "== ruff check"; "$venv/bin/ruff" check .
echo "== ruff format --check"; "$venv/bin/ruff" format --check .
echo "== mypy"; "$venv/bin/mypy"
echo "== import-linter"; "$venv/bin/lint-imports"
echo "== pytest"; "$venv/bin/python" -m pytest "$@"
