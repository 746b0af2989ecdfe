#!/usr/bin/env bash
# The contract at the edge, judged by tools nobody here wrote, against a
# running server: schemathesis over every operation, a client generated from
# /openapi.json by openapi-python-client running a member's scenario, and
# headless Chromium calling the API from another origin and using Swagger UI.
#
#   scripts/contract.sh            (CI runs it after the Rust tests)
#
# Needs PostgreSQL and NATS (scripts/services.sh), python3 and the binary
# (built here if missing). Installs its Python tools in a virtualenv under
# ~/.cache/resourcify and Debian's chromium where it is missing. Leaves no
# database, NATS stream or process behind.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
# Python tools and scripts leave no bytecode in the checkout.
export PYTHONDONTWRITEBYTECODE=1

say() { printf 'contract: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

venv="${XDG_CACHE_HOME:-$HOME/.cache}/resourcify/contract-venv"
if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/contract/requirements.txt "$venv/requirements.txt"; then
  say "installing the outside tools (tests/contract/requirements.txt) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/contract/requirements.txt
  cp tests/contract/requirements.txt "$venv/requirements.txt"
fi
if ! command -v chromium >/dev/null; then
  say "installing Debian's chromium for the browser test"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
py="$venv/bin/python"

cargo build -q --bin resourcify
bin=target/debug/resourcify

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
api_port=$(free_port)
page_port=$(free_port)
run_id="contract$$"
work=$(mktemp -d)
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/resourcify_$run_id"
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
export RESOURCIFY_NAMESPACE="$run_id"
export RESOURCIFY_LISTEN="127.0.0.1:$api_port"
# The operator address (/metrics) on any free port: the contract is the public one.
export RESOURCIFY_METRICS_LISTEN="127.0.0.1:0"
export RESOURCIFY_JWT_SECRET="contract-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export RESOURCIFY_CORS_ORIGINS="http://localhost:$page_port"
# A fuzzer is one very busy client; the rate limits have tests of their own.
export RESOURCIFY_RATE_READS=1000000/min RESOURCIFY_RATE_WRITES=1000000/min \
  RESOURCIFY_RATE_SIGNUPS=1000000/h RESOURCIFY_RATE_LOGINS=1000000/min \
  RESOURCIFY_RATE_LOGIN_FAILURES=1000000/min \
  RESOURCIFY_RATE_LOGIN_FAILURES_PER_ACCOUNT=1000000/min RESOURCIFY_MAX_WAITING_READS=10000
# Flagging asks for karma the fuzzer's fresh accounts never earn; its own
# tests hold the minimum (tests/e2e/flags.rs).
export RESOURCIFY_MIN_KARMA_TO_FLAG=0
export RUST_LOG=warn
base="http://127.0.0.1:$api_port"

server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  psql -q "postgres://postgres@127.0.0.1:5432/postgres" \
    -c "DROP DATABASE IF EXISTS resourcify_$run_id WITH (FORCE)" >/dev/null 2>&1 || true
  "$py" tests/contract/drop_namespace.py "$NATS_URL" "$RESOURCIFY_NAMESPACE" || true
  [ -n "${CONTRACT_KEEP_LOGS:-}" ] && cp "$work/server.log" "$CONTRACT_KEEP_LOGS" 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
  curl -sf "$base/healthz" >/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server did not start"; }
  sleep 0.5
done
curl -sf "$base/healthz" >/dev/null || die "the server does not answer on $base"
# Metrics are for operators, on an address of their own (ADR 15).
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")" = 404 ] ||
  die "the public port serves /metrics"

# A member made administrator, so that every operation can be reached.
register() { # username -> position
  curl -sf -X POST "$base/v1/users" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"email\":\"$1@example.org\",\"password\":\"correct horse battery\"}" |
    "$py" -c 'import json,sys; print(json.load(sys.stdin)["position"])'
}
log_in() { # username position -> token
  curl -sf -X POST "$base/v1/sessions?min_position=$2" -H 'content-type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"correct horse battery\"}" |
    "$py" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
register fuzzadmin >/dev/null
granted=$("$bin" admin grant fuzzadmin 2>/dev/null | sed -n 's/.*position \([0-9]*\).*/\1/p')
admin_token=$(log_in fuzzadmin "$granted")
leaver_token=$(log_in "$(echo leaver)" "$(register leaver)")

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection
schemathesis() { # token, then filters
  local token=$1; shift
  # Run from the scratch directory, where schemathesis keeps its cache.
  (cd "$work" && SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$repo/tests/contract" \
    "$venv/bin/schemathesis" --config-file "$repo/tests/contract/schemathesis.toml" \
    run "$base/openapi.json" \
    -H "Authorization: Bearer $token" --checks "$checks" \
    --phases examples,coverage,fuzzing --max-examples "${CONTRACT_MAX_EXAMPLES:-50}" \
    --request-timeout 15 --seed 20261206 --no-color "$@")
}
# Three runs over the 60 operations. The stream never ends: schemathesis
# reads its events until the request time-out, so it runs apart with a short
# one. The operations that end the caller's sessions or account run last, as
# a member of their own, so that they do not log the administrator out.
session_enders=(deleteAccount logoutEverywhere logout endSession changePassword)
excluded=(--exclude-path /v1/streams/resources)
for operation in "${session_enders[@]}"; do excluded+=(--exclude-operation-id "$operation"); done
say "schemathesis: every operation but the stream and the session enders, as an administrator"
# With the stateful phase too: it follows the document's links from a
# creation (a submission, a comment, a source, an account) to what is done with it.
schemathesis "$admin_token" "${excluded[@]}" --phases examples,coverage,fuzzing,stateful ||
  die "schemathesis found failures (above)"
say "schemathesis: the event stream"
schemathesis "$admin_token" --include-path /v1/streams/resources --request-timeout 2 \
  --max-examples 15 || die "schemathesis found failures (above)"
say "schemathesis: the operations that end sessions, as a member"
included=()
for operation in "${session_enders[@]}"; do included+=(--include-operation-id "$operation"); done
schemathesis "$leaver_token" "${included[@]}" || die "schemathesis found failures (above)"

say "openapi-python-client: generating a client from $base/openapi.json"
curl -sf "$base/openapi.json" >"$work/openapi.json"
(cd "$work" && "$venv/bin/openapi-python-client" generate --path openapi.json \
  --meta none --output-path resourcify_client >"$work/generate.log" 2>&1) ||
  { cat "$work/generate.log" >&2; die "the client could not be generated"; }
say "the generated client's scenario"
"$py" tests/contract/client_scenario.py "$base" "$work" || die "the generated client's scenario failed"

say "headless Chromium: a page on another origin, the stream, Swagger UI"
"$py" tests/contract/browser/run_browser.py --api "$base" --page-origin-port "$page_port" ||
  die "the browser test failed"

say "all passed"
