#!/usr/bin/env bash
# Smoke test of server.mjs with curl: one authorization-code + PKCE flow.
# Usage: smoke.sh BASE_URL LOGIN_HINT [basic|post]
# Needs CLIENT_ID, CLIENT_SECRET, REDIRECT_URI (first one is used) as for the server.
set -euo pipefail
BASE=$1 HINT=$2 AUTH=${3:-basic}
REDIRECT=${REDIRECT_URI%%,*}
JAR=$(mktemp)
trap 'rm -f "$JAR"' EXIT

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
VERIFIER=$(openssl rand 32 | b64url)
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | b64url)
STATE=$(openssl rand 12 | b64url)
NONCE=$(openssl rand 12 | b64url)
echo "state=$STATE nonce=$NONCE"

# Follow the provider's own redirects, but stop at the client's redirect_uri
# (nothing listens there): -L with --max-redirs would try to fetch it, so we
# walk the chain by hand and print each hop.
URL="$BASE/auth?$(python3 -c 'import sys,urllib.parse as u; print(u.urlencode(dict(zip(sys.argv[1::2],sys.argv[2::2]))))' \
  client_id "$CLIENT_ID" response_type code scope 'openid email profile' redirect_uri "$REDIRECT" \
  state "$STATE" nonce "$NONCE" code_challenge "$CHALLENGE" code_challenge_method S256 login_hint "$HINT")"
for hop in 1 2 3 4 5 6; do
  read -r STATUS LOCATION < <(curl -s -o /dev/null -b "$JAR" -c "$JAR" -w '%{http_code} %{redirect_url}\n' "$URL")
  echo "hop $hop: $STATUS ${URL%%\?*} -> $LOCATION"
  case $LOCATION in "$REDIRECT"*) break ;; esac
  URL=$LOCATION
done
case $LOCATION in "$REDIRECT"*) ;; *) echo "never reached redirect_uri" >&2; exit 1 ;; esac
CODE=$(python3 -c 'import sys,urllib.parse as u; q=u.parse_qs(u.urlsplit(sys.argv[1]).query); print(q.get("code",[""])[0])' "$LOCATION")
[ -n "$CODE" ] || { echo "no code in redirect"; exit 1; }

if [ "$AUTH" = post ]; then CRED=(-d "client_id=$CLIENT_ID" -d "client_secret=$CLIENT_SECRET"); else CRED=(-u "$CLIENT_ID:$CLIENT_SECRET"); fi
TOKEN=$(curl -s "${CRED[@]}" "$BASE/token" -d grant_type=authorization_code \
  --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$REDIRECT" --data-urlencode "code_verifier=$VERIFIER")
echo "token response keys: $(printf %s "$TOKEN" | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)))')"
printf %s "$TOKEN" | python3 -c '
import json, sys, base64
t = json.load(sys.stdin)["id_token"]
h, p, _ = t.split(".")
d = lambda s: json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
print("id_token:", t)
print("id_token header:", json.dumps(d(h)))
print("id_token payload:", json.dumps(d(p)))'
