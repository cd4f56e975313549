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
source "$(dirname "$0")/lib.sh"
duration=${DURATION:-20}
conns=${CONNECTIONS:-16}
threads=${THREADS:-2}
people=${PEOPLE:-5000}
need wrk "apt-get install wrk"
setup mandate_bench
gen_start=$(date +%s.%N)
generate "$people"
gen_secs=$(echo "$(date +%s.%N) - $gen_start" | bc -l)
exec_login=$(credentials Executive)
lead_login=$(credentials "ISMS lead")

start_server "${PORT:-18081}"
cookie=$(sign_in "$exec_login")
lead_cookie=$(sign_in "$lead_login")

seconds() { curl -s -o /dev/null -w '%{time_total}' -H "Cookie: $cookie" "$base$1"; }
# First view: nothing is cached yet.
gaps_first=$(seconds /gaps)
# After a change (the review cadence flips), the next view evaluates again.
cold=()
for months in 6 12 6 12 6; do
  t=$(token "$lead_cookie" /meetings)
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
