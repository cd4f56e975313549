#!/usr/bin/env bash
# Load run (not a unit test): four wrk processes at once, for DURATION
# seconds, against one server on loopback with the large generated
# organisation (`mandate generate`):
#   sign-in    the login form, GET then POST, again and again (argon2id each time)
#   dashboards /dashboard, /gaps, /leadership, the trend chart, as the executive
#   lists      every list page of the ISMS lead's menu
#   downloads  evidence files of FILE_MIB each and the CSV exports
# It fails unless every answer is 2xx (3xx for a sign-in), with no 5xx and
# no socket errors, and unless memory is stable: the server's RSS at the end
# may not exceed its RSS after the first tenth of the run by more than
# 25 % + 32 MiB. Prints a Markdown table for docs/BENCHMARKS.md.
# Needs PostgreSQL on 127.0.0.1:5432, curl, psql and wrk (apt-get install wrk).
#
#   scripts/load.sh                                    # 60 s, 5,000 people
#   DURATION=10 PEOPLE=300 BIN=target/debug/mandate scripts/load.sh   # CI's quick run
source "$(dirname "$0")/lib.sh"
duration=${DURATION:-60}
people=${PEOPLE:-5000}
files=${FILES:-8}
file_mib=${FILE_MIB:-4}
need wrk "apt-get install wrk"
setup mandate_load
generate "$people" 4
exec_login=$(credentials Executive)
lead_login=$(credentials "ISMS lead")
start_server "${PORT:-18083}"
exec_cookie=$(sign_in "$exec_login")
lead_cookie=$(sign_in "$lead_login")

upload_files "$lead_cookie" "$files" "$file_mib" "Load test file"
org=$(psql "$DATABASE_URL" -tAc "SELECT id FROM organisations WHERE name = 'Generated Ltd'")
file_paths=$(psql "$DATABASE_URL" -tAc "SELECT '/evidence/files/' || id FROM evidence_revisions WHERE org_id = '$org' AND size > 1048576" | tr '\n' ' ')

dashboards="/dashboard /gaps /leadership /leadership/trend.svg"
lists="/requirements /roles /raci /people /policies /evidence /evidence-requests /meetings /actions /decisions /communications /objectives /asks /training /onboarding /members /audit /bundles"
downloads="$file_paths /people.csv /evidence.csv /requirements.csv /roles.csv /gaps.csv"
# Every page answers before the load starts (and the caches are warm, as in use).
for path in $dashboards $lists $downloads; do
  cookie=$exec_cookie
  case " $lists $downloads " in *" $path "*) cookie=$lead_cookie ;; esac
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base$path")
  [ "$status" = 200 ] || { echo "$path answered $status before the load" >&2; exit 1; }
done

# The server's memory, once a second.
( while kill -0 "$server" 2>/dev/null; do echo "$(date +%s) $(rss_kib "$server")"; sleep 1; done ) >"$work/rss.log" 2>/dev/null &
sampler=$!
extra_cleanup="kill $sampler"

echo "running the load for $duration s…" >&2
run() { # NAME SCRIPT CONNECTIONS [ENV…]
  local name=$1 script=$2 conns=$3
  shift 3
  env "$@" wrk -t"$conns" -c"$conns" -d"${duration}s" --timeout 15s --latency -s "scripts/load/$script" "$base" >"$work/$name.out" 2>&1
}
run signin signin.lua 2 EMAIL="${lead_login% *}" PASSWORD="${lead_login#* }" &
p1=$!
run dashboards paths.lua 4 PATHS="$dashboards" COOKIE="$exec_cookie" &
p2=$!
run lists paths.lua 4 PATHS="$lists" COOKIE="$lead_cookie" &
p3=$!
run downloads paths.lua 2 PATHS="$downloads" COOKIE="$lead_cookie" &
p4=$!
wait $p1 $p2 $p3 $p4
kill "$sampler" 2>/dev/null || true
extra_cleanup=:

failed=
declare -A requests rps p50 p99 statuses
for name in signin dashboards lists downloads; do
  out="$work/$name.out"
  statuses[$name]=$(awk '/^statuses:/ {sub(/^statuses: /, ""); print}' "$out")
  requests[$name]=$(awk '/requests in/ {print $1}' "$out")
  rps[$name]=$(awk '/Requests\/sec/ {print $2}' "$out")
  p50[$name]=$(awk '$1 == "50%" {print $2}' "$out")
  p99[$name]=$(awk '$1 == "99%" {print $2}' "$out")
  if [ -z "${statuses[$name]}" ]; then echo "$name: wrk printed no statuses:" >&2; cat "$out" >&2; failed=1; continue; fi
  if grep -q "Socket errors" "$out"; then echo "$name: $(grep 'Socket errors' "$out")" >&2; failed=1; fi
  bad=$(awk '{for (i = 1; i <= NF; i++) {split($i, kv, "="); if ((kv[1] == "4xx" || kv[1] == "5xx") && kv[2] > 0) print $i}}' <<<"${statuses[$name]}")
  if [ -n "$bad" ]; then echo "$name: unexpected answers: $bad" >&2; failed=1; fi
  if [ "$name" != signin ] && ! grep -q " 3xx=0 " <<<"${statuses[$name]} "; then echo "$name: redirects (a lost session?): ${statuses[$name]}" >&2; failed=1; fi
done
signins=$(awk '/^sign-ins:/ {print $2}' "$work/signin.out")
[ "${signins:-0}" -gt 0 ] || { echo "no sign-in succeeded" >&2; failed=1; }
errors=$(grep -c -E 'ERROR|panicked' "$work/server.log" || true)
[ "$errors" = 0 ] || { echo "the server logged $errors errors:" >&2; grep -E 'ERROR|panicked' "$work/server.log" | head >&2; failed=1; }

# Memory: after the first tenth of the run, at the end, and the peak.
samples=$(wc -l <"$work/rss.log")
warm=$(awk -v n="$(( samples / 10 + 1 ))" 'NR == n {print $2}' "$work/rss.log")
last=$(tail -n 1 "$work/rss.log" | awk '{print $2}')
high=$(sort -k2 -n "$work/rss.log" | tail -n 1 | awk '{print $2}')
limit=$(( warm * 125 / 100 + 32768 ))
[ "$last" -le "$limit" ] || { echo "memory grew: RSS $((warm / 1024)) MiB after warm-up, $((last / 1024)) MiB at the end" >&2; failed=1; }

echo
echo "| measure | value |"
echo "| --- | --- |"
echo "| data | $people people in the generated organisation, $files evidence files of $file_mib MiB, 4 small organisations beside it |"
echo "| load | 4 wrk processes at once for $duration s on loopback, 12 connections in all |"
for name in signin dashboards lists downloads; do
  echo "| $name | ${requests[$name]} requests, ${rps[$name]}/s, p50 ${p50[$name]}, p99 ${p99[$name]}; ${statuses[$name]% 503=*} |"
done
echo "| sign-ins completed | $signins |"
echo "| socket errors, 5xx, errors in the server log | none |"
echo "| server memory (RSS) after the first tenth, at the end, highest | $((warm / 1024)) MiB, $((last / 1024)) MiB, $((high / 1024)) MiB |"
echo "| server peak memory (VmHWM, whole run incl. uploads) | $(( $(peak_kib "$server") / 1024 )) MiB |"
if [ -n "$failed" ]; then echo "the load run FAILED (see above)" >&2; KEEP_WORK=1; exit 1; fi
