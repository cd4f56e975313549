#!/usr/bin/env bash
# Benchmark (not a test): upload one large evidence file to a release build
# of Mandate and compare it with a plain copy of the same file on the same
# disk, in the same run. Reports the server's peak memory and the ratio of
# throughputs. Needs PostgreSQL on 127.0.0.1:5432 (as the tests do) and curl.
#
#   scripts/bench-upload.sh            # 1 GiB
#   SIZE_MIB=256 RUNS=5 scripts/bench-upload.sh
source "$(dirname "$0")/lib.sh"
size_mib=${SIZE_MIB:-1024}
runs=${RUNS:-3}
setup mandate_bench_upload

file="$work/big.pdf"
make_pdf "$file" "$size_mib"
bytes=$(stat -c %s "$file")
sync

start_server "${PORT:-18080}" MANDATE_MAX_UPLOAD_MIB=$((size_mib + 16)) MANDATE_ORG_QUOTA_MIB=$((size_mib * (runs + 1)))
jar="$work/cookies"
t=$(curl -s -b "$jar" -c "$jar" "$base/signup" | csrf)
signup=$(curl -s -o /dev/null -w "%{http_code}" -b "$jar" -c "$jar" --data-urlencode "csrf_token=$t" --data-urlencode "org_name=Bench Ltd" \
  --data-urlencode "name=Bench Lead" --data-urlencode "email=lead@bench.example" \
  --data-urlencode "password=uploads are measured in this run" "$base/signup")
[ "$signup" = 200 ] || { echo "sign-up answered $signup" >&2; exit 1; }
# Without SMTP the sign-up link goes to the server's log.
link=""
for _ in $(seq 1 50); do
  link=$(grep -o '/signup/[A-Za-z0-9_-]\{20,\}' "$work/server.log" | tail -n 1) && [ -n "$link" ] && break
  sleep 0.1
done
[ -n "$link" ] || { echo "no sign-up link in $work/server.log:" >&2; tail -n 20 "$work/server.log" >&2; exit 1; }
t=$(curl -s -b "$jar" -c "$jar" "$base$link" | csrf)
finished=$(curl -s -o /dev/null -w "%{http_code}" -b "$jar" -c "$jar" --data-urlencode "csrf_token=$t" "$base$link")
[ "$finished" = 303 ] || { echo "finishing the sign-up answered $finished" >&2; exit 1; }
cookie=$(sign_in "lead@bench.example uploads are measured in this run")
t=$(token "$cookie" /evidence/new)
rss_before=$(rss_kib "$server")

copy_times=()
upload_times=()
for run in $(seq 1 "$runs"); do
  # Baseline: copy the same file on the same disk (dd, 8 MiB blocks), flushed like the upload.
  start=$(date +%s.%N)
  dd if="$file" of="$work/copy.pdf" bs=8M status=none
  sync
  end=$(date +%s.%N)
  copy_times+=("$(echo "$end - $start" | bc -l)")
  rm -f "$work/copy.pdf"

  start=$(date +%s.%N)
  status=$(upload "$cookie" "$t" "Benchmark $run" "$file")
  sync
  end=$(date +%s.%N)
  upload_times+=("$(echo "$end - $start" | bc -l)")
  [ "$status" = 303 ] || { echo "upload answered $status; see $work/server.log" >&2; cat "$work/server.log" >&2; exit 1; }
done
peak_kib=$(peak_kib "$server")
count=$(find "$work/data/evidence" -type f -size "${bytes}c" | wc -l)
[ "$count" = "$runs" ] || { echo "expected $runs stored files of $bytes bytes, found $count" >&2; exit 1; }

copy_secs=$(median "${copy_times[@]}")
upload_secs=$(median "${upload_times[@]}")
mib_s() { echo "scale=1; $bytes / 1048576 / $1" | bc -l; }
echo
echo "| measure | value |"
echo "| --- | --- |"
echo "| file | $size_mib MiB, incompressible |"
echo "| runs | $runs (copy, then upload, alternating; medians below) |"
echo "| plain copy on the same disk | $(printf '%.2f' "$copy_secs") s ($(mib_s "$copy_secs") MiB/s) |"
echo "| upload through Mandate (HTTP, multipart, SHA-256, type check, store, row) | $(printf '%.2f' "$upload_secs") s ($(mib_s "$upload_secs") MiB/s) |"
echo "| upload throughput relative to the plain copy | $(echo "scale=2; $copy_secs / $upload_secs" | bc -l) |"
echo "| each run, copy / upload seconds | $(for i in "${!copy_times[@]}"; do printf '%.2f/%.2f ' "${copy_times[$i]}" "${upload_times[$i]}"; done)|"
echo "| server memory before the upload (RSS) | $((rss_before / 1024)) MiB |"
echo "| server peak memory (VmHWM) | $((peak_kib / 1024)) MiB |"
echo "| peak memory relative to the file size | $(echo "scale=3; $peak_kib / 1024 / $size_mib" | bc -l) |"
