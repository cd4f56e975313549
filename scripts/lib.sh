# Shared by the scripts in this folder (source it; it is not run on its own):
# a work folder and a database of the script's own, both removed on exit;
# the release binary; a server started on a port of the script's choosing;
# sign-in with curl; the generated organisation's logins.
#
# BIN=target/debug/mandate runs another build instead of building the
# release binary (CI's quick runs use the test build); KEEP_WORK=1 keeps the
# work folder (server log, wrk output) for a look afterwards.
#
#   source "$(dirname "$0")/lib.sh"
#   setup mandate_bench_upload      # work dir $work, database $db, DATABASE_URL
#   start_server 18080 MANDATE_MAX_UPLOAD_MIB=64
#   cookie=$(sign_in "lead@example.org passphrase")
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pg_address=127.0.0.1:5432
admin=
bin=${BIN:-./target/release/mandate}
server=
extra_cleanup=:

# need TOOL HOW: stops the script unless TOOL is installed; HOW says how to install it.
need() {
  command -v "$1" >/dev/null || { echo "$(basename "$0") needs $1: $2" >&2; exit 1; }
}

# work_dir NAME: the work folder alone, removed on exit.
work_dir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  trap cleanup EXIT
}

# setup NAME: a work folder (unless made already) and a fresh database
# NAME_<pid> on the PostgreSQL at $pg_address, and the release build.
setup() {
  [ -n "${work:-}" ] || work_dir "$1"
  db="$1_$$"
  admin="postgres://postgres@$pg_address/postgres"
  if [ -z "${BIN:-}" ]; then
    echo "building the release binary…" >&2
    cargo build --release --quiet
  fi
  psql "$admin" -qc "CREATE DATABASE $db" >/dev/null
  export DATABASE_URL="postgres://postgres@$pg_address/$db" MANDATE_DATA_DIR="$work/data" RUST_LOG=${RUST_LOG:-warn}
}

cleanup() {
  eval "$extra_cleanup" || true
  stop_server
  [ -z "$admin" ] || psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "${KEEP_WORK:-}" ]; then echo "work folder kept: $work" >&2; else rm -rf "$work"; fi
}

# start_server PORT [NAME=VALUE…]: `mandate serve` on 127.0.0.1:PORT without the
# demo organisation, its log in $work/server.log; waits until /healthz answers.
start_server() {
  local port=$1
  shift
  base="http://127.0.0.1:$port"
  env MANDATE_BIND="127.0.0.1:$port" MANDATE_NO_DEMO=true "$@" "$bin" serve >>"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 300); do curl -sf "$base/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "the server did not answer on $base; its log:" >&2
  tail -n 20 "$work/server.log" >&2
  exit 1
}

stop_server() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=
  fi
}

csrf() { grep -o 'name="csrf_token" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//'; }

# sign_in "EMAIL PASSWORD": signs in through the login form and prints the
# Cookie header value of the new session.
sign_in() {
  local jar="$work/jar.$RANDOM" t status
  t=$(curl -s -b "$jar" -c "$jar" "$base/login" | csrf)
  status=$(curl -s -o /dev/null -w "%{http_code}" -b "$jar" -c "$jar" --data-urlencode "csrf_token=$t" \
    --data-urlencode "email=${1%% *}" --data-urlencode "password=${1#* }" "$base/login")
  [ "$status" = 303 ] || { echo "sign-in of ${1%% *} answered $status" >&2; exit 1; }
  awk 'NF == 7 && ($1 !~ /^#/ || $1 ~ /^#HttpOnly_/) {printf "%s=%s; ", $6, $7}' "$jar"
}

# token COOKIE PATH: the CSRF token of the first form on a page.
token() { curl -s -H "Cookie: $1" "$base$2" | csrf; }

# generate PEOPLE [SMALL]: `mandate generate`, its output in $work/generate.log.
generate() {
  echo "generating $1 people and ${2:-19} small organisations…" >&2
  "$bin" generate --people "$1" --small "${2:-19}" >"$work/generate.log"
}

# credentials ROLE ("Executive" or "ISMS lead"): "EMAIL PASSWORD" of the generated organisation.
credentials() {
  local found
  found=$(awk -v role="$1" '$1 == "Generated" && $3 " " $4 == role {print $5, $6} $1 == "Generated" && $3 == role {print $4, $5}' "$work/generate.log")
  [ -n "$found" ] || { echo "no $1 login in the output of mandate generate:" >&2; cat "$work/generate.log" >&2; exit 1; }
  echo "$found"
}

# make_pdf FILE MIB: an incompressible file that passes the PDF check.
make_pdf() {
  { printf '%%PDF-1.7\n'; head -c "$(($2 * 1024 * 1024 - 16))" /dev/urandom; printf '\n%%%%EOF\n'; } >"$1"
}

# upload COOKIE TOKEN TITLE FILE: new evidence through the upload form; prints the status.
upload() {
  curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $1" -H 'Expect:' -F "title=$3" -F kind=document \
    -F "file=@$4;type=application/pdf" "$base/evidence?csrf_token=$2"
}

# upload_files COOKIE COUNT MIB TITLE: COUNT different files of MIB each, as
# new evidence titled "TITLE 1", "TITLE 2", …; stops the script on a refusal.
upload_files() {
  local t i status
  echo "uploading $2 files of $3 MiB…" >&2
  t=$(token "$1" /evidence/new)
  for i in $(seq 1 "$2"); do
    make_pdf "$work/upload.pdf" "$3"
    status=$(upload "$1" "$t" "$4 $i" "$work/upload.pdf")
    [ "$status" = 303 ] || { echo "upload $i answered $status" >&2; tail "$work/server.log" >&2; exit 1; }
  done
  rm -f "$work/upload.pdf"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# rss_kib PID: resident memory now; peak_kib PID: the most it has had.
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
