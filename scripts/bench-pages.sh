#!/usr/bin/env bash
# Benchmark (not a test): every page of the ISMS lead's and the auditor's
# work on generated organisations of 5,000 and 50,000 people (`mandate
# generate`). For each size and page it reports:
#
# - requests per second at one connection, as a share of /healthz in the
#   same run (wrk, one thread, one connection);
# - p50 and p99 latency at 16 connections;
# - the size of the HTML;
# - the SQL statements one request runs (counted from the server's own
#   `sqlx::query` debug log, in a separate pass so logging does not slow the
#   timed runs);
# - the server's resident memory at the end and its peak (VmHWM).
#
# Then the ratio of each page's 50,000-person figures to its 5,000-person
# ones. Needs PostgreSQL on 127.0.0.1:5432, curl and wrk (apt-get install wrk).
#
#   scripts/bench-pages.sh                      # 5,000 and 50,000 people
#   SIZES=5000 DURATION=5 scripts/bench-pages.sh
source "$(dirname "$0")/lib.sh"
duration=${DURATION:-10}
sizes=${SIZES:-"5000 50000"}
need wrk "apt-get install wrk"
work_dir mandate_bench_pages
out="$work/results.tsv"
: >"$out"

# The pages measured, one per line: label|path|SQL finding {id} in the
# generated organisation (`$1`)|who reads it.
pages() {
  cat <<'EOF'
/gaps|/gaps||lead
/leadership|/leadership||lead
/findings|/findings||lead
/evidence|/evidence||lead
/requirements|/requirements||lead
a requirement|/requirements/{id}|SELECT r.id FROM requirements r LEFT JOIN evidence_links l ON l.target_id = r.id AND l.org_id = $1 GROUP BY r.id ORDER BY count(l.*) DESC, r.id LIMIT 1|lead
/people|/people||lead
a person|/people/{id}|SELECT id FROM people WHERE org_id = $1 AND top_management ORDER BY name LIMIT 1|lead
/policies|/policies||lead
a policy|/policies/{id}|SELECT p.id FROM policies p WHERE p.org_id = $1 ORDER BY p.title LIMIT 1|lead
a policy version|/policies/versions/{id}|SELECT id FROM policy_versions WHERE org_id = $1 AND approved_at IS NOT NULL ORDER BY approved_at DESC LIMIT 1|lead
/roles|/roles||lead
/meetings|/meetings||lead
a meeting|/meetings/{id}|SELECT id FROM meetings WHERE org_id = $1 ORDER BY held_on DESC NULLS LAST LIMIT 1|lead
/training|/training||lead
a training module|/training/modules/{id}|SELECT id FROM training_modules WHERE org_id = $1 ORDER BY title LIMIT 1|lead
/audit|/audit||lead
auditor: home|/dashboard||auditor
auditor: /bundles|/bundles||auditor
auditor: /evidence-requests|/evidence-requests||auditor
EOF
}

rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$server/status"; }
hwm() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$server/status"; }

for people in $sizes; do
  echo "== $people people ==" >&2
  setup "mandate_bench_pages_$people"
  gen_start=$(date +%s.%N)
  generate "$people" 4
  gen_secs=$(echo "$(date +%s.%N) - $gen_start" | bc -l)
  org=$(psql "$DATABASE_URL" -tAc "SELECT id FROM organisations WHERE name = 'Generated Ltd'")
  lead_login=$(credentials "ISMS lead")
  auditor_login=$(credentials Auditor)

  # Each page's address, with its id.
  declare -A url=()
  while IFS='|' read -r label path sql who; do
    if [ -n "$sql" ]; then
      id=$(psql "$DATABASE_URL" -tAc "PREPARE q(uuid) AS $sql; EXECUTE q('$org')" | tail -n 1)
      [ -n "$id" ] || { echo "no record for $label" >&2; exit 1; }
      path=${path/\{id\}/$id}
    fi
    url[$label]=$path
  done < <(pages)

  # Pass 1: statements per request, from the server's debug log.
  # The request span (INFO) names each statement's request, so background work is not counted.
  start_server "${PORT:-18083}" RUST_LOG="warn,sqlx::query=debug,mandate::web::request=info" NO_COLOR=1
  lead=$(sign_in "$lead_login")
  auditor=$(sign_in "$auditor_login")
  declare -A queries=() bytes=()
  while IFS='|' read -r label _ _ who; do
    cookie=$lead; [ "$who" = auditor ] && cookie=$auditor
    path=${url[$label]}
    curl -s -o /dev/null -H "Cookie: $cookie" "$base$path"  # warm (the gap cache, the first plan)
    before=$(wc -l <"$work/server.log")
    status=$(curl -s -o "$work/page.html" -w '%{http_code}' -H "Cookie: $cookie" "$base$path")
    [ "$status" = 200 ] || { echo "$label ($path) answered $status" >&2; exit 1; }
    sleep 0.2
    queries[$label]=$(tail -n +"$((before + 1))" "$work/server.log" | sed 's/\x1b\[[0-9;]*m//g' | grep 'sqlx::query' | grep -cF "path=${path}}" || true)
    bytes[$label]=$(stat -c %s "$work/page.html")
  done < <(pages)
  stop_server

  # Pass 2: throughput at one connection and latency at sixteen.
  start_server "${PORT:-18083}"
  lead=$(sign_in "$lead_login")
  auditor=$(sign_in "$auditor_login")
  one() { wrk -t1 -c1 -d"${duration}s" -H "Cookie: $1" "$base$2" | awk '/Requests\/sec/ {print $2}'; }
  healthz=$(one "" /healthz)
  while IFS='|' read -r label _ _ who; do
    cookie=$lead; [ "$who" = auditor ] && cookie=$auditor
    path=${url[$label]}
    first=$(curl -s -o /dev/null -w '%{time_total}' -H "Cookie: $cookie" "$base$path")
    rps=$(one "$cookie" "$path")
    lat=$(wrk -t2 -c16 -d"${duration}s" --latency -H "Cookie: $cookie" "$base$path")
    if grep -q "Non-2xx" <<<"$lat"; then echo "$label: $(grep Non-2xx <<<"$lat")" >&2; exit 1; fi
    p50=$(awk '$1 == "50%" {print $2}' <<<"$lat")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$lat")
    share=$(echo "scale=4; 100 * $rps / $healthz" | bc -l)
    printf '%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\t%.0f\n' "$people" "$label" "$rps" "$share" "$p50" "$p99" "${bytes[$label]}" "${queries[$label]}" \
      "$(echo "$first * 1000" | bc -l)" >>"$out"
    echo "  $label: $rps/s ($(printf '%.1f' "$share") % of /healthz), p99 $p99, ${bytes[$label]} bytes, ${queries[$label]} statements" >&2
  done < <(pages)
  echo "$people	memory	$(rss)	$(hwm)	$(printf '%.1f' "$gen_secs")	$healthz" >>"$out"
  stop_server
  psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  unset url queries bytes
done

echo
for people in $sizes; do
  read -r _ _ rss_end peak gen healthz < <(awk -F'\t' -v n="$people" '$1 == n && $2 == "memory"' "$out" | tr '\t' ' ')
  echo "### $people people (generated in $gen s; /healthz $healthz requests/s at one connection; server memory at the end $rss_end MiB, peak $peak MiB)"
  echo
  echo "| page | requests/s at 1 connection | share of /healthz | p50 at 16 | p99 at 16 | HTML bytes | statements | first view |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -F'\t' -v n="$people" '$1 == n && $2 != "memory" {printf "| %s | %s | %s %% | %s | %s | %s | %s | %s ms |\n", $2, $3, $4, $5, $6, $7, $8, $9}' "$out"
  echo
done
set -- $sizes
if [ $# -ge 2 ]; then
  echo "### $2 people against $1: ratio of each figure (requests/s: lower is slower; bytes and statements: higher is more)"
  echo
  echo "| page | requests/s | p99 at 16 | HTML bytes | statements |"
  echo "| --- | --- | --- | --- | --- |"
  awk -F'\t' -v a="$1" -v b="$2" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $2 != "memory" { key = $2; if ($1 == a) { r[key] = $3; p[key] = ms($6); h[key] = $7; q[key] = $8; order[++n] = key }
                     else if ($1 == b) { r2[key] = $3; p2[key] = ms($6); h2[key] = $7; q2[key] = $8 } }
    END { for (i = 1; i <= n; i++) { k = order[i]; printf "| %s | %.2f | %.2f | %.2f | %.2f |\n", k, r2[k] / r[k], p2[k] / p[k], h2[k] / h[k], q2[k] / q[k] } }' "$out"
fi
