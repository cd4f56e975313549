#!/usr/bin/env bash
# Measurement (not a test): IMPORTS people CSV imports of ROWS rows each,
# run at once against the real server, each by its own organisation's owner:
# all upload (the check) together, then all open their preview together,
# then all apply together. Reports the server's resident memory (VmRSS) and
# its peak (VmHWM) from /proc/<pid>/status after each step and once the
# server has been left alone for a few seconds. Needs PostgreSQL on
# 127.0.0.1:5432 (as the tests do), curl and psql.
#
#   scripts/measure-imports.sh                          # release build, 25 × 5,000 rows
#   BIN=target/debug/mandate IMPORTS=5 scripts/measure-imports.sh
#   LIMIT_MIB=300 scripts/measure-imports.sh            # exit 1 if the peak is above 300 MiB
source "$(dirname "$0")/lib.sh"
imports=${IMPORTS:-25}
rows=${ROWS:-5000}
setup mandate_measure_imports
# Enough connections and patience that no import is turned away while the
# others hold the pool: the figure is memory, not the pool's limits.
start_server "${PORT:-18084}" MANDATE_DB_POOL_SIZE=$((imports + 5)) MANDATE_DB_ACQUIRE_TIMEOUT_SECONDS=300

# One file with every column: a manager for everyone but the first, a
# department, dates and flags.
file="$work/people.csv"
awk -v rows="$rows" 'BEGIN {
  print "name,email,job_title,department,manager_email,kind,start_date,end_date,top_management,line_manager,security_clause"
  for (i = 0; i < rows; i++) {
    manager = i == 0 ? "" : sprintf("person%d@measure.example", int((i - 1) / 10))
    printf "Person Number %d,person%d@measure.example,Job title %d,Department %d,%s,%s,2024-01-%02d,,no,%s,yes\n",
      i, i, i % 50, i % 20, manager, (i % 7 == 0 ? "contractor" : "employee"), i % 28 + 1, (i % 10 == 0 ? "yes" : "no")
  }
}' >"$file"
echo "file: $rows rows, $(stat -c %s "$file") bytes" >&2

# One organisation and signed-in owner per import.
echo "signing up $imports organisations…" >&2
for i in $(seq 1 "$imports"); do
  jar="$work/jar.$i"
  t=$(curl -s -b "$jar" -c "$jar" "$base/signup" | csrf)
  status=$(curl -s -o /dev/null -w "%{http_code}" -b "$jar" -c "$jar" --data-urlencode "csrf_token=$t" \
    --data-urlencode "org_name=Measure $i Ltd" --data-urlencode "name=Owner $i" \
    --data-urlencode "email=owner$i@measure.example" --data-urlencode "password=imports are measured in this run $i" "$base/signup")
  [ "$status" = 303 ] || { echo "sign-up $i answered $status" >&2; exit 1; }
done

report() { echo "| $1 | $(($(rss_kib "$server") / 1024)) MiB | $(($(peak_kib "$server") / 1024)) MiB |"; }
table=("| after | VmRSS | VmHWM (peak so far) |" "| --- | --- | --- |")
table+=("$(report "sign-ups (before any import)")")

# step NAME COMMAND…: runs COMMAND once per import (with $i set), all at
# once, and stops the script unless every one printed the expected status.
step() {
  local name=$1 expect=$2 i pids=() failed=0
  shift 2
  echo "$name: $imports at once…" >&2
  local start end
  start=$(date +%s.%N)
  for i in $(seq 1 "$imports"); do
    (status=$("$@" "$i"); echo "$status" >"$work/status.$i") &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  end=$(date +%s.%N)
  for i in $(seq 1 "$imports"); do
    s=$(cat "$work/status.$i")
    [ "$s" = "$expect" ] || { echo "$name $i answered $s (expected $expect); see $work/server.log" >&2; failed=1; }
  done
  [ "$failed" = 0 ] || { tail -n 20 "$work/server.log" >&2; exit 1; }
  table+=("$(report "$name ($(printf '%.1f' "$(echo "$end - $start" | bc -l)") s)")")
}

upload_one() {
  local jar="$work/jar.$1" t
  t=$(curl -s -b "$jar" -c "$jar" "$base/people/import" | csrf)
  curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b "$jar" -c "$jar" -H 'Expect:' \
    -F "file=@$file;type=text/csv" "$base/people/import?csrf_token=$t" >"$work/upload.$1"
  read -r status location <"$work/upload.$1"
  echo "${location#"$base"}" >"$work/preview.$1"
  echo "$status"
}
preview_one() {
  local jar="$work/jar.$1"
  curl -s -o "$work/preview-page.$1" -w '%{http_code}' -b "$jar" -c "$jar" "$base$(cat "$work/preview.$1")"
}
apply_one() {
  local jar="$work/jar.$1" t
  t=$(csrf <"$work/preview-page.$1")
  curl -s -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" --data-urlencode "csrf_token=$t" "$base$(cat "$work/preview.$1")/apply"
}

step "uploads (checked, stored for preview)" 303 upload_one
step "previews" 200 preview_one
grep -q "add $rows" "$work/preview-page.1" || { echo "the preview does not offer to add $rows people" >&2; exit 1; }
step "applies" 303 apply_one
people=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM people")
[ "$people" = $((imports * rows)) ] || { echo "expected $((imports * rows)) people, found $people" >&2; exit 1; }
sleep "${SETTLE_SECONDS:-5}"
table+=("$(report "${SETTLE_SECONDS:-5} s idle afterwards")")

peak=$(peak_kib "$server")
echo
echo "$imports imports of $rows rows ($(stat -c %s "$file") bytes each), $bin:"
printf '%s\n' "${table[@]}"
if [ -n "${LIMIT_MIB:-}" ] && [ $((peak / 1024)) -gt "$LIMIT_MIB" ]; then
  echo "peak $((peak / 1024)) MiB is above the limit of $LIMIT_MIB MiB" >&2
  exit 1
fi
