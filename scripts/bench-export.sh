#!/usr/bin/env bash
# Benchmark (not a test): an evidence bundle of the large generated
# organisation (5,000 people, 250,000 acknowledgements, ...; `mandate
# generate`) plus FILES uploaded evidence files of FILE_MIB each, made by the
# server's background job. Reports the bundle's throughput against a plain
# copy of the same evidence files on the same disk in the same run, the
# server's peak memory, and how long `mandate verify-bundle` takes.
# Needs PostgreSQL on 127.0.0.1:5432, curl and psql.
#
#   scripts/bench-export.sh
#   FILES=50 FILE_MIB=16 PEOPLE=2000 scripts/bench-export.sh
source "$(dirname "$0")/lib.sh"
files=${FILES:-100}
file_mib=${FILE_MIB:-8}
people=${PEOPLE:-5000}
setup mandate_bench_export
generate "$people"
lead=$(credentials "ISMS lead")

# The records alone (no evidence files yet): the fixed part of a bundle.
start=$(date +%s.%N)
"$bin" export --org "Generated Ltd" --out "$work/records.zip" >"$work/records.log"
records_secs=$(echo "$(date +%s.%N) - $start" | bc -l)
records_bytes=$(stat -c %s "$work/records.zip")
rm -f "$work/records.zip"

start_server "${PORT:-18082}" MANDATE_ORG_QUOTA_MIB=$((files * file_mib + 1024))
cookie=$(sign_in "$lead")

# Incompressible evidence files that pass the PDF check, each different.
upload_files "$cookie" "$files" "$file_mib" "Board pack"
org=$(psql "$DATABASE_URL" -tAc "SELECT id FROM organisations WHERE name = 'Generated Ltd'")
evidence_bytes=$(psql "$DATABASE_URL" -tAc "SELECT COALESCE(sum(size), 0) FROM evidence_revisions WHERE org_id = '$org'")
sync

# Baseline: copy the organisation's evidence files on the same disk, flushed.
start=$(date +%s.%N)
cp -r "$work/data/evidence/orgs/$org" "$work/copy"
sync
copy_secs=$(echo "$(date +%s.%N) - $start" | bc -l)
rm -rf "$work/copy"

rss_before=$(rss_kib "$server")
t=$(token "$cookie" /bundles)
start=$(date +%s.%N)
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" --data-urlencode "csrf_token=$t" --data-urlencode "as_of=$(date -u +%F)" "$base/bundles")
[ "$status" = 303 ] || { echo "requesting the bundle answered $status" >&2; exit 1; }
job=
for _ in $(seq 1 6000); do
  row=$(psql "$DATABASE_URL" -tAc "SELECT id || ' ' || status FROM jobs WHERE org_id = '$org' ORDER BY requested_at DESC LIMIT 1")
  case "$row" in
    *" done") job=${row% *}; break ;;
    *" failed") echo "the bundle failed: $(psql "$DATABASE_URL" -tAc "SELECT error FROM jobs WHERE id = '${row% *}'")" >&2; exit 1 ;;
  esac
  sleep 0.1
done
sync
export_secs=$(echo "$(date +%s.%N) - $start" | bc -l)
[ -n "$job" ] || { echo "the bundle was not ready in time" >&2; exit 1; }
peak_kib=$(peak_kib "$server")
bundle_bytes=$(psql "$DATABASE_URL" -tAc "SELECT result_size FROM jobs WHERE id = '$job'")
curl -s -H "Cookie: $cookie" -o "$work/bundle.zip" "$base/bundles/$job/download"
start=$(date +%s.%N)
"$bin" verify-bundle "$work/bundle.zip" >"$work/verify.log" || { cat "$work/verify.log" >&2; exit 1; }
verify_secs=$(echo "$(date +%s.%N) - $start" | bc -l)
entries=$(awk '/^Checked/ {print $2}' "$work/verify.log")

mib() { echo "scale=1; $1 / 1048576" | bc -l; }
rate() { echo "scale=1; $1 / 1048576 / $2" | bc -l; }
echo
echo "| measure | value |"
echo "| --- | --- |"
echo "| data | $people people, $(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM acknowledgements WHERE org_id = '$org'") acknowledgements, $(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM training_records WHERE org_id = '$org'") training records, $(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM evidence_items WHERE org_id = '$org'") evidence items of which $files carry a $file_mib MiB file |"
echo "| plain copy of the evidence files ($(mib "$evidence_bytes") MiB, cp -r, sync) | $(printf '%.2f' "$copy_secs") s ($(rate "$evidence_bytes" "$copy_secs") MiB/s) |"
echo "| bundle made by the server's job (request to ready, sync) | $(printf '%.2f' "$export_secs") s for $(mib "$bundle_bytes") MiB ($(rate "$bundle_bytes" "$export_secs") MiB/s), $entries files |"
echo "| the records alone (mandate export before the uploads: CSVs, index, audit log) | $(printf '%.2f' "$records_secs") s for $(mib "$records_bytes") MiB |"
files_secs=$(echo "$export_secs - $records_secs" | bc -l)
echo "| evidence files' share of the bundle time (total minus records) | $(printf '%.2f' "$files_secs") s ($(rate "$evidence_bytes" "$files_secs") MiB/s) |"
echo "| bundle throughput relative to the plain copy, whole bundle | $(echo "scale=3; ($bundle_bytes / $export_secs) / ($evidence_bytes / $copy_secs)" | bc -l) |"
echo "| the same for the evidence files' share | $(echo "scale=3; ($evidence_bytes / $files_secs) / ($evidence_bytes / $copy_secs)" | bc -l) |"
echo "| server memory before the export (RSS) | $((rss_before / 1024)) MiB |"
echo "| server peak memory (VmHWM, whole run incl. uploads) | $((peak_kib / 1024)) MiB |"
echo "| mandate verify-bundle on the downloaded ZIP | $(printf '%.2f' "$verify_secs") s |"
