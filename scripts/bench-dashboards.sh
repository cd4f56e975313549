#!/usr/bin/env bash
# Benchmark (not a test): the two dashboards on a generated organisation of
# 5,000 people (`mandate generate`), signed in, under wrk. Reports requests
# per second of each page as a ratio to the app's own /healthz in the same
# run, latency percentiles, and what a first view costs: after a change
# (the evaluation is recomputed) and for the trend chart (thirteen as-of
# evaluations). Needs PostgreSQL on 127.0.0.1:5432, curl and wrk
# (apt-get install wrk).
#
#   scripts/bench-dashboards.sh
#   DURATION=10 CONNECTIONS=16 PEOPLE=2000 scripts/bench-dashboards.sh
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18081}
duration=${DURATION:-20}
conns=${CONNECTIONS:-16}
threads=${THREADS:-2}
people=${PEOPLE:-5000}
base="http://127.0.0.1:$port"
work=$(mktemp -d "${TMPDIR:-/tmp}/mandate-bench.XXXXXX")
db="mandate_bench_$$"
admin="postgres://postgres@127.0.0.1:5432/postgres"
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  psql "$admin" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "this benchmark needs wrk: apt-get install wrk" >&2; exit 1; }

echo "building the release binary…" >&2
cargo build --release --quiet
psql "$admin" -qc "CREATE DATABASE $db" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" MANDATE_DATA_DIR="$work/data" RUST_LOG=warn
echo "generating $people people and 19 small organisations…" >&2
gen_start=$(date +%s.%N)
./target/release/mandate generate --people "$people" >"$work/generate.log"
gen_secs=$(echo "$(date +%s.%N) - $gen_start" | bc -l)
credentials() { awk -v role="$1" '$1 == "Generated" && $3 " " $4 == role {print $5, $6} $1 == "Generated" && $3 == role {print $4, $5}' "$work/generate.log"; }
exec_login=$(credentials Executive)
lead_login=$(credentials "ISMS lead")
[ -n "$exec_login" ] && [ -n "$lead_login" ] || { cat "$work/generate.log" >&2; exit 1; }

MANDATE_BIND="127.0.0.1:$port" MANDATE_NO_DEMO=true ./target/release/mandate serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

csrf() { grep -o 'name="csrf_token" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//'; }
# sign_in "email password" -> a Cookie header value for that session
sign_in() {
  local jar="$work/jar.$RANDOM" t status
  t=$(curl -s -b "$jar" -c "$jar" "$base/login" | csrf)
  status=$(curl -s -o /dev/null -w "%{http_code}" -b "$jar" -c "$jar" --data-urlencode "csrf_token=$t" \
    --data-urlencode "email=${1% *}" --data-urlencode "password=${1#* }" "$base/login")
  [ "$status" = 303 ] || { echo "sign-in of ${1% *} answered $status" >&2; exit 1; }
  awk 'NF == 7 && ($1 !~ /^#/ || $1 ~ /^#HttpOnly_/) {printf "%s=%s; ", $6, $7}' "$jar"
}
cookie=$(sign_in "$exec_login")
lead_cookie=$(sign_in "$lead_login")

seconds() { curl -s -o /dev/null -w '%{time_total}' -H "Cookie: $cookie" "$base$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# First view: nothing is cached yet.
gaps_first=$(seconds /gaps)
# After a change (the review cadence flips), the next view evaluates again.
cold=()
for months in 6 12 6 12 6; do
  t=$(curl -s -H "Cookie: $lead_cookie" "$base/meetings" | csrf)
  status=$(curl -s -o /dev/null -w "%{http_code}" -H "Cookie: $lead_cookie" --data-urlencode "csrf_token=$t" --data-urlencode "months=$months" "$base/meetings/cadence")
  [ "$status" = 303 ] || { echo "changing the review cadence answered $status" >&2; exit 1; }
  cold+=("$(seconds /gaps)")
done
gaps_cold=$(median "${cold[@]}")
# The last change made today's evaluation stale and no past point was ever
# computed: the chart evaluates all thirteen days.
trend_cold=$(seconds /leadership/trend.svg)
seconds /leadership >/dev/null
seconds /leadership/trend.svg >/dev/null

declare -A rps p50 p99
for path in /healthz /gaps /leadership /leadership/trend.svg; do
  out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -H "Cookie: $cookie" "$base$path")
  if grep -q "Non-2xx" <<<"$out"; then echo "$path: $(grep Non-2xx <<<"$out")" >&2; exit 1; fi
  rps[$path]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50[$path]=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99[$path]=$(awk '$1 == "99%" {print $2}' <<<"$out")
done

counts=$(psql "$DATABASE_URL" -tAc "SELECT (SELECT count(*) FROM people p JOIN organisations o ON o.id = p.org_id WHERE o.name = 'Generated Ltd') || ' people, ' ||
  (SELECT count(*) FROM acknowledgements) || ' acknowledgements, ' || (SELECT count(*) FROM training_records) || ' training records, ' ||
  (SELECT count(*) FROM evidence_items) || ' evidence items, ' || (SELECT count(*) FROM meetings) || ' meetings, ' ||
  (SELECT count(*) FROM organisations) || ' organisations'")
echo
echo "| measure | value |"
echo "| --- | --- |"
echo "| data | $counts (generated in $(printf '%.1f' "$gen_secs") s) |"
echo "| load | wrk, $threads threads, $conns connections, ${duration} s per page, signed in as the executive |"
for path in /healthz /gaps /leadership /leadership/trend.svg; do
  ratio=$(echo "scale=3; ${rps[$path]} / ${rps[/healthz]}" | bc -l)
  echo "| $path | ${rps[$path]} requests/s ($(printf '%.1f' "$(echo "$ratio * 100" | bc -l)") % of /healthz), p50 ${p50[$path]}, p99 ${p99[$path]} |"
done
echo "| first view of /gaps (nothing cached) | $(printf '%.0f' "$(echo "$gaps_first * 1000" | bc -l)") ms |"
echo "| view of /gaps just after a change (median of 5) | $(printf '%.0f' "$(echo "$gaps_cold * 1000" | bc -l)") ms |"
echo "| first trend chart (13 as-of evaluations, nothing cached) | $(printf '%.0f' "$(echo "$trend_cold * 1000" | bc -l)") ms |"
