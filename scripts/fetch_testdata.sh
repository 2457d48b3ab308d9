#!/usr/bin/env bash
# Fetch keepdown's PDQ and vPDQ reference test data from github.com/facebook/ThreatExchange at
# the pinned commit, rebuild the few derived files, and check every file's SHA-256 before it
# lands (scripts/testdata.sha256). The tests read it from $KEEPDOWN_TESTDATA, by default
# ../shared/testdata beside the checkout. See scripts/testdata.py for the details.
#
#   bash scripts/fetch_testdata.sh                 # everything (the measured CSVs need pip)
#   bash scripts/fetch_testdata.sh --no-measure    # without pdqhash: the PDQ tests then skip
#   python3 scripts/testdata.py verify             # check a copy, no network
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/testdata.py fetch "$@"
