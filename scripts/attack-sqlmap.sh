#!/usr/bin/env bash
# Attack run (not a unit test): sqlmap against every parameter a signed-in
# ISMS lead can reach on the demo organisation. sqlmap crawls from the
# dashboard (DEPTH links deep), tests the query parameters of every link
# and the fields of every form it finds (the CSRF token is sent as it is,
# not attacked), with the boolean, error, union and stacked-query
# techniques (TECHNIQUE; add T for time-based, which is much slower). It
# fails if sqlmap reports an injection point, if any request answered 500,
# or if the session was lost along the way (then nothing real was tested).
# Sign-out, the account and organisation pages (which could end the
# session) and downloads are left out. Needs PostgreSQL, curl and sqlmap
# (pip install sqlmap).
#
#   scripts/attack-sqlmap.sh
#   DEPTH=1 BIN=target/debug/mandate scripts/attack-sqlmap.sh
source "$(dirname "$0")/lib.sh"
depth=${DEPTH:-2}
technique=${TECHNIQUE:-BEUS}
command -v sqlmap >/dev/null || { echo "this script needs sqlmap: pip install sqlmap" >&2; exit 1; }
setup mandate_sqlmap
start_server "${PORT:-18088}" MANDATE_NO_DEMO=false
lead=$(awk '$1 == "ISMS" && $2 == "lead" {print $3, $4}' "$work/data/demo-logins.txt")
[ -n "$lead" ] || { echo "no ISMS lead among the demo logins" >&2; exit 1; }
cookie=$(sign_in "$lead")

echo "sqlmap: crawling $depth deep from /dashboard and testing every parameter (techniques $technique)…" >&2
start=$(date +%s)
sqlmap -u "$base/dashboard" --cookie="$cookie" --crawl="$depth" --forms --batch --level=1 --risk=1 \
  --technique="$technique" --csrf-token=csrf_token --disable-coloring \
  --crawl-exclude='logout|/account|/orgs|/static/|download|/evidence/files/|\.csv|\.svg' \
  --output-dir="$work/sqlmap" >"$work/sqlmap.log" 2>&1 || true
secs=$(( $(date +%s) - start ))

failed=
tested=$(grep -c "testing '" "$work/sqlmap.log" || true)
params=$( { grep -oE "(GET|POST|\(custom\) POST) parameter '[^']+'" "$work/sqlmap.log" || true; } | sort -u | wc -l)
targets=$(grep -cE "^\[#[0-9]+\]|^(GET|POST) http" "$work/sqlmap.log" || true)
if grep -q "identified the following injection point" "$work/sqlmap.log"; then
  echo "sqlmap found an injection point:" >&2
  grep -A12 "identified the following injection point" "$work/sqlmap.log" >&2
  failed=1
fi
if grep -qE "500 \(Internal Server Error\)" "$work/sqlmap.log"; then
  echo "some requests answered 500: $(grep -E '500 \(Internal Server Error\)' "$work/sqlmap.log" | head -3)" >&2
  failed=1
fi
if grep -q "panicked" "$work/server.log"; then echo "the server panicked" >&2; failed=1; fi
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base/dashboard")
[ "$status" = 200 ] || { echo "the session was lost during the run (dashboard answered $status)" >&2; failed=1; }
[ "$params" -gt 0 ] || { echo "sqlmap tested no parameter; its log:" >&2; tail -30 "$work/sqlmap.log" >&2; failed=1; }

echo
echo "| measure | value |"
echo "| --- | --- |"
echo "| run | sqlmap $(sqlmap --version 2>/dev/null | tail -n 1), crawl depth $depth, forms, level 1, risk 1, techniques $technique, signed in as the ISMS lead of the demo organisation |"
echo "| parameters tested | $params distinct parameters, $tested test payload families, in $secs s |"
echo "| injection points found | $(grep -c "identified the following injection point" "$work/sqlmap.log" || true) |"
echo "| answers of 500 | $(grep -cE '500 \(Internal Server Error\)' "$work/sqlmap.log" || true) |"
if [ -n "$failed" ]; then echo "the attack run FAILED (see above; log kept)" >&2; KEEP_WORK=1; exit 1; fi
