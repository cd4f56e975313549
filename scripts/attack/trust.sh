#!/usr/bin/env bash
# Attack run (not a unit test) on the trust anchor and the other findings of
# issue 17 (see scripts/attack/trust.py for the cases), against the real
# server with the demo organisation. Takes under a minute.
#
#   scripts/attack/trust.sh
#   BIN=target/debug/mandate scripts/attack/trust.sh
source "$(dirname "$0")/../lib.sh"
setup mandate_trust
start_server "${PORT:-18089}" MANDATE_NO_DEMO=false MANDATE_TRUST_FORWARDED_FOR=true ${SERVER_ENV:-}
python3 scripts/attack/trust.py --base="$base" --logins="$work/data/demo-logins.txt" --bin="$bin" --slow-seconds "${SLOW_SECONDS:-60}"
