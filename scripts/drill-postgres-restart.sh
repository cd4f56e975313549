#!/usr/bin/env bash
# Fault drill (not a unit test): PostgreSQL restarted in the middle of a load
# run. A private PostgreSQL cluster (from the installed binaries, on its own
# port, so the machine's cluster is left alone) holds the generated
# organisation; wrk drives dashboards and lists while a probe asks for the
# dashboard four times a second. DOWN_AT seconds in, the cluster is stopped
# (fast shutdown: every connection is cut), and OUTAGE seconds later (12,
# longer than the pool's 10 s acquire timeout) it starts again. The drill fails unless:
#   - every answer is 200 or 503 (503 only while the database is away), no
#     other 5xx, no socket errors;
#   - each 503 came within the pool's acquire timeout (10 s) plus a second;
#   - the outage was felt (at least one 503, from wrk or the probe);
#   - the dashboard answers 200 again within 10 s of PostgreSQL being back,
#     and every probe after that is 200.
# Needs the PostgreSQL server binaries (initdb, pg_ctl), curl, psql and wrk.
#
#   scripts/drill-postgres-restart.sh
#   DURATION=35 DOWN_AT=8 PEOPLE=300 BIN=target/debug/mandate scripts/drill-postgres-restart.sh   # CI's quick run
source "$(dirname "$0")/lib.sh"
duration=${DURATION:-45}
down_at=${DOWN_AT:-12}
outage=${OUTAGE:-12}
people=${PEOPLE:-2000}
pg_port=${PG_PORT:-55432}
need wrk "apt-get install wrk"
pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1)")
[ -x "$pg_bin/pg_ctl" ] || { echo "this drill needs the PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }

# The private cluster, run as the postgres user when this script runs as root.
work_dir mandate_drill_pg
pgdata="$work/pg"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$pgdata"
if [ "$(id -u)" = 0 ]; then chmod 755 "$work"; chown postgres:postgres "$pgdata"; fi
chmod 700 "$pgdata"
as_pg "$pg_bin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --no-locale >/dev/null
pg() { as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$pgdata" "$@" >/dev/null; }
pg start
extra_cleanup="pg stop -m immediate 2>/dev/null"
pg_address="127.0.0.1:$pg_port"

setup mandate_drill
generate "$people" 2
start_server "${PORT:-18084}"
exec_cookie=$(sign_in "$(credentials Executive)")
lead_cookie=$(sign_in "$(credentials "ISMS lead")")
curl -sf -o /dev/null -H "Cookie: $exec_cookie" "$base/gaps"

# The probe: "seconds-since-start status time_total" four times a second.
t0=$(date +%s.%N)
since() { echo "$(date +%s.%N) - $t0" | bc -l; }
(
  while :; do
    s=$(since)
    r=$(curl -s -o /dev/null -m 30 -w '%{http_code} %{time_total}' -H "Cookie: $exec_cookie" "$base/dashboard" || echo "000 0")
    echo "$s $r"
    sleep 0.25
  done
) >"$work/probe.log" &
probe=$!
extra_cleanup="kill $probe; pg stop -m immediate 2>/dev/null"

echo "load for $duration s; PostgreSQL stops at $down_at s for $outage s…" >&2
env PATHS="/dashboard /gaps /leadership /requirements /people /evidence /meetings" COOKIE="$lead_cookie" \
  wrk -t4 -c8 -d"${duration}s" --timeout 15s --latency -s scripts/load/paths.lua "$base" >"$work/wrk.out" 2>&1 &
load=$!
sleep "$down_at"
down=$(since)
pg stop -m fast
sleep "$outage"
pg start
up=$(since)
wait "$load"
kill "$probe" 2>/dev/null || true
wait "$probe" 2>/dev/null || true
extra_cleanup="pg stop -m immediate 2>/dev/null"

failed=
statuses=$(awk '/^statuses:/ {sub(/^statuses: /, ""); print}' "$work/wrk.out")
[ -n "$statuses" ] || { cat "$work/wrk.out" >&2; exit 1; }
if grep -q "Socket errors" "$work/wrk.out"; then echo "wrk: $(grep 'Socket errors' "$work/wrk.out")" >&2; failed=1; fi
count() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$statuses"; }
[ "$(count 3xx)" = 0 ] && [ "$(count 4xx)" = 0 ] || { echo "wrk: unexpected answers: $statuses" >&2; failed=1; }
[ "$(count 5xx)" = "$(count 503)" ] || { echo "wrk: 5xx other than 503: $statuses" >&2; failed=1; }
if grep -q panicked "$work/server.log"; then echo "the server panicked" >&2; failed=1; fi

# The probe's view.
read -r others slow unavailable max503 < <(awk '
  $2 != 200 && $2 != 503 {others++}
  $2 == 503 {n++; if ($3 > max) max = $3; if ($3 > 11) slow++}
  END {printf "%d %d %d %.2f\n", others, slow, n, max}' "$work/probe.log")
[ "$others" = 0 ] || { echo "probe: answers other than 200 and 503:" >&2; awk '$2 != 200 && $2 != 503' "$work/probe.log" >&2; failed=1; }
[ "$slow" = 0 ] || { echo "probe: $slow answers of 503 took longer than the acquire timeout" >&2; failed=1; }
[ $(( unavailable + $(count 503) )) -gt 0 ] || { echo "the outage was never felt (no 503)" >&2; failed=1; }
# The first 200 whose request started after PostgreSQL was back, and any 503 after it.
read -r recovered relapses < <(awk -v up="$up" '
  $1 >= up && $2 == 200 && first == "" {first = $1 + $3}
  first != "" && $1 > first && $2 != 200 {bad++}
  END {printf "%s %d\n", (first == "" ? "never" : first - up), bad}' "$work/probe.log")
if [ "$recovered" = never ] || [ "$(echo "$recovered > 10" | bc -l)" = 1 ]; then
  echo "the dashboard did not recover within 10 s of PostgreSQL coming back ($recovered)" >&2; failed=1
fi
[ "$relapses" = 0 ] || { echo "probe: $relapses failures after recovery" >&2; failed=1; }

echo
echo "| measure | value |"
echo "| --- | --- |"
echo "| data | $people people in the generated organisation, on a private PostgreSQL cluster |"
echo "| load | wrk, 4 threads, 8 connections, $duration s, dashboards and lists; a probe on /dashboard every 0.25 s |"
echo "| fault | PostgreSQL stopped (fast shutdown) at $(printf '%.1f' "$down") s, started again at $(printf '%.1f' "$up") s |"
echo "| wrk answers | $statuses (the 503s are in 5xx) |"
echo "| probe answers of 503 | $unavailable, the slowest in $max503 s |"
echo "| dashboard back after PostgreSQL returned | $( [ "$recovered" = never ] && echo never || printf '%.1f s' "$recovered") |"
echo "| other 5xx, socket errors, panics | $( [ -z "$failed" ] && echo none || echo 'see above') |"
if [ -n "$failed" ]; then echo "the drill FAILED (see above)" >&2; KEEP_WORK=1; exit 1; fi
