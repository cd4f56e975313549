#!/usr/bin/env bash
# Attack run (not a unit test): sqlmap against every parameter a signed-in
# member of the demo organisation can reach, as each role in turn.
#
# Each pass first crawls the app as every role (scripts/attack/targets.py)
# and lists the query parameters, form fields (urlencoded and multipart)
# and path ids it finds; a target an earlier role or pass listed is not
# listed again. Then sqlmap attacks each role's list with that role's
# session, in the order executive, auditor, contributor, ISMS lead, owner
# (the owner last, as its forms disable members). What the attacks create
# (imports, campaigns, drafts, requests, a disabled member) brings new forms
# to light, so passes repeat until one finds nothing new (PASSES at most).
#
# The CSRF token travels in a header, so the real fields are attacked and
# not the token. Password fields (signing asks for the password again)
# carry the member's own password and are not attacked: every wrong one
# counts towards the sign-in lock, which would lock the member out and
# leave sqlmap comparing refusals. Redirects are not followed: a form's
# answer (303 accepted, 4xx refused) is what is compared, not the page of
# the record each request created. UNION probes stay within 1 to 10
# columns (level 1's own range, also once sqlmap has a lead): a false lead
# from a path id answered 409 and 404 grew into 44- and 599-column probes
# otherwise. With a bound of 20 the first pass alone ran past 20 minutes;
# with 10 the whole run takes about 16.
#
# Techniques: boolean, error, union and stacked queries (TECHNIQUE; add T
# for time-based, much slower), level 1 and risk 1 (LEVEL, RISK), payloads
# for PostgreSQL, SHARDS sqlmap processes at once. It fails if sqlmap finds
# an injection point, if any answer was a 500, the server panicked or the
# app throttled sqlmap, or if a session was lost during its role's attack
# (then the rest of that role's targets were not really tested). It also
# lists the requests whose own submission was refused and the routes with
# parameters that no crawl reached. ROLES narrows the run, MAX_TARGETS caps
# each role's new targets per pass (CI's short run).
#
#   scripts/attack/sqlmap.sh
#   BIN=target/debug/mandate PASSES=1 MAX_TARGETS=10 scripts/attack/sqlmap.sh
source "$(dirname "$0")/../lib.sh"
technique=${TECHNIQUE:-BEUS}
level=${LEVEL:-1}
risk=${RISK:-1}
shards=${SHARDS:-2}
passes=${PASSES:-3}
roles=${ROLES:-Executive Auditor Contributor "ISMS lead" Owner}
need sqlmap "pip install sqlmap"
setup mandate_sqlmap
start_server "${PORT:-18088}" MANDATE_NO_DEMO=false

# ROLES is split on spaces, but "ISMS lead" is one role.
mapfile -t role_list < <(printf '%s\n' "$roles" | sed 's/ISMS lead/ISMS_lead/' | tr ' ' '\n' | grep -v '^$')
declare -A cookies
failed=
: >"$work/seen"
: >"$work/skipped"
start=$(date +%s)

# count FILE: how many requests FILE.0 … FILE.N-1 hold.
count() { local i; for i in $(seq 0 $((shards - 1))); do cat "$1.$i"; done | grep -c 'HTTP/1.1' || true; }

# attack FILE ROLE: sqlmap on the requests in FILE.0 … FILE.N-1, one sqlmap
# process per shard (sqlmap tests one parameter at a time), each with its
# own output folder and log.
attack() {
  local pids=() i status
  for i in $(seq 0 $((shards - 1))); do
    grep -q 'HTTP/1.1' "$1.$i" || continue
    sqlmap -l "$1.$i" --batch --dbms=PostgreSQL --technique="$technique" --level="$level" --risk="$risk" \
      --skip=password --ignore-redirects --union-cols=1-10 --drop-set-cookie --disable-coloring --output-dir="$work/sqlmap.$i" >"$1.$i.log" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: ${cookies[$2]}" "$base/dashboard")
  [ "$status" = 200 ] || { echo "the ${2/_/ } session was lost during its attack (dashboard answered $status)" >&2; failed=1; }
}

# Each pass crawls as every role, then attacks what the crawls found. The
# attacks' own submissions create records (imports, campaigns, requests,
# drafts) whose pages and forms the next pass finds; the run stops when a
# pass finds nothing new and no role sat it out. A role that cannot sign
# in, or signs in to no organisation (the owner's forms disable members),
# sits out that pass and is reported.
for pass in $(seq 1 "$passes"); do
  found_new=0 sat_out=0
  for r in "${role_list[@]}"; do
    role=${r/_/ }
    login=$(awk -v role="$role" 'NR > 1 && (($1 " " $2) == role) {print $3, $4} NR > 1 && $1 == role {print $2, $3}' "$work/data/demo-logins.txt")
    [ -n "$login" ] || { echo "no $role among the demo logins" >&2; exit 1; }
    if ! cookies[$r]=$(sign_in "$login" 2>/dev/null); then
      echo "pass $pass: $role cannot sign in any more; skipped" | tee -a "$work/skipped" >&2
      cookies[$r]= sat_out=1
      continue
    fi
    # The owner's attack on the disable form disables the first member it
    # lists; that member can still sign in but has no organisation until
    # the owner's attack on the enable form (a pass later) re-enables it.
    home=$(curl -s -o /dev/null -w "%{http_code} %{redirect_url}" -H "Cookie: ${cookies[$r]}" "$base/dashboard")
    if [ "${home%% *}" != 200 ]; then
      echo "pass $pass: $role is signed in but the dashboard answered $home (no organisation: an attack disabled the member, most likely); skipped" | tee -a "$work/skipped" >&2
      cookies[$r]= sat_out=1
      continue
    fi
    echo -n "pass $pass, $role: " >&2
    MANDATE_PASSWORD=${login#* } python3 scripts/attack/targets.py --base="$base" --cookie="${cookies[$r]}" \
      --token="$(token "${cookies[$r]}" /dashboard)" --out "$work/targets.$pass.$r" --seen "$work/seen" \
      --shards "$shards" ${MAX_TARGETS:+--max "$MAX_TARGETS"} >&2
    found_new=$((found_new + $(count "$work/targets.$pass.$r")))
  done
  # Another pass if this one found something, or if a role sat it out
  # (its own forms may still be unlisted).
  [ "$found_new" -gt 0 ] || [ "$sat_out" = 1 ] || break
  for r in "${role_list[@]}"; do
    [ -n "${cookies[$r]}" ] && [ "$(count "$work/targets.$pass.$r")" -gt 0 ] || continue
    echo "pass $pass: sqlmap as ${r/_/ } on $(count "$work/targets.$pass.$r") targets…" >&2
    attack "$work/targets.$pass.$r" "$r"
  done
done
targets=$(wc -l <"$work/seen")
secs=$(( $(date +%s) - start ))
log="$work/sqlmap.log"
cat "$work"/targets.*.log >"$log"
found=$(grep -c "identified the following injection point" "$log" || true)
clean=$(grep -cE "parameter '[^']+' does not seem to be injectable" "$log" || true)
errors=$( { grep -oE "[0-9]+ \(Internal Server Error\) - [0-9]+ times" "$log" || true; } | awk '{n += $NF == "times" ? $(NF-1) : 0} END {print n + 0}')
if [ "$found" -gt 0 ]; then
  echo "sqlmap found an injection point:" >&2
  grep -A12 "identified the following injection point" "$log" >&2
  failed=1
fi
if grep -q "Internal Server Error" "$log"; then
  echo "some requests answered 500:" >&2; grep "Internal Server Error" "$log" | sort | uniq -c | head >&2; failed=1
fi
if grep -q "appears to be rate-limiting" "$log"; then
  echo "the app throttled sqlmap (its tests then compare refusals):" >&2; grep -B3 "appears to be rate-limiting" "$log" | head >&2; failed=1
fi
if grep -q "panicked" "$work/server.log"; then echo "the server panicked" >&2; failed=1; fi
# Targets whose own submission (the page's values, blanks filled with
# samples) the app refused: their fields were attacked, but the request
# stopped at validation and may never have reached a query.
awk '/^\[[0-9]+\/[0-9]+\] URL:/ {getline; url = $2; method = "GET"; pending = 1}
     /^POST data:/ {method = "POST"}
     /responded with an HTTP error code/ && pending {match($0, /\([0-9]+\)/); print substr($0, RSTART + 1, RLENGTH - 2), method, url; pending = 0}' \
  "$log" | sed "s#$base##" | sort -u >"$work/refused"
# Routes that take a parameter (an id in the path, or a form) for which no
# role's crawl found a request, from the access matrix's list of routes.
# The starter buttons (a form with nothing but the token, shown while an
# organisation has no roles or activities) take none.
grep -oE '^ *\("(GET|POST)", +"[^"]+"' tests/it/access_matrix.rs | sed -E 's/^ *\("(GET|POST)", +"([^"]+)"/\1 \2/; s/\{[a-z]+\}/{id}/g' |
  grep -E '\{id\}|^POST' | grep -vE ' /(login|signup|logout|account|orgs|static|invite/|accept-role/|ack/|p/)|/download$|/csv$|/files/|/starter$' |
  while read -r method path; do grep -q "^$method $path[ ?]" "$work/seen" || echo "$method $path"; done >"$work/unreached"
[ "$clean" -gt 0 ] || { echo "sqlmap tested no parameter; the end of its log:" >&2; tail -30 "$log" >&2; failed=1; }

echo
echo "| measure | value |"
echo "| --- | --- |"
echo "| run | sqlmap $(sqlmap --version 2>/dev/null | tail -n 1), level $level, risk $risk, techniques $technique, PostgreSQL payloads, as ${role_list[*]//_/ } of the demo organisation |"
echo "| targets | $targets (routes × parameter sets, each tested by one role) |"
echo "| parameters tested | $clean, in $secs s |"
echo "| requests whose own submission was refused | $(wc -l <"$work/refused") (see below) |"
echo "| routes with parameters no crawl reached | $(wc -l <"$work/unreached") (see below) |"
echo "| injection points found | $found |"
echo "| answers of 500 | $errors |"
echo
echo "Refused submissions (status, request):"; sed 's/^/  /' "$work/refused"
echo "Routes not reached:"; sed 's/^/  /' "$work/unreached"
echo "Roles that sat out a pass:"; sed 's/^/  /' "$work/skipped"
if [ -n "$failed" ]; then echo "the attack run FAILED (see above; log kept)" >&2; KEEP_WORK=1; exit 1; fi
