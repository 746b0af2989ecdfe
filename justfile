# Resourcify tasks. `just --list` shows them all.

set shell := ["bash", "-euo", "pipefail", "-c"]

# The server whose databases tests create and drop (sqlx::test).
test_database_url := env("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
pg_admin_url := "postgres://postgres@127.0.0.1:5432/postgres"

default:
    @just --list

# Make sure PostgreSQL and NATS answer, starting local ones if needed.
services:
    scripts/services.sh

# Serve API, projectors and migrations on 127.0.0.1:8080 (settings from
# the environment, then `.env`, where a signing secret is made on first run).
run *args: services
    scripts/local-env.sh cargo run --release --bin resourcify -- serve {{args}}

# Run every test against the real services.
test *args: services
    DATABASE_URL={{test_database_url}} cargo test --workspace {{args}}

# Formatting, lints, and the query cache; what CI checks besides the tests.
check: services
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
    python3 scripts/check-doc-links.py
    just check-sqlx

# Regenerate the offline query cache in .sqlx/ after changing a query or migration.
prepare: services
    just _describe-queries .sqlx

# Fail if .sqlx/ does not match the queries and migrations.
check-sqlx: services
    #!/usr/bin/env bash
    set -euo pipefail
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    just _describe-queries "$out"
    if ! diff -r -q "$out" .sqlx >/dev/null; then
      diff -r "$out" .sqlx | head -40
      echo "the .sqlx/ query cache is stale: run 'just prepare' and commit it" >&2
      exit 1
    fi
    echo ".sqlx/ is up to date"

# Describes every query macro against a scratch database into DIR.
_describe-queries dir:
    #!/usr/bin/env bash
    set -euo pipefail
    db="resourcify_describe_$$"
    trap 'psql -q "{{pg_admin_url}}" -c "DROP DATABASE IF EXISTS $db" >/dev/null' EXIT
    psql -q "{{pg_admin_url}}" -c "CREATE DATABASE $db" >/dev/null
    for migration in migrations/*.sql; do
      psql -q -v ON_ERROR_STOP=1 "postgres://postgres@127.0.0.1:5432/$db" -f "$migration" >/dev/null
    done
    mkdir -p "{{dir}}"
    rm -f "{{dir}}"/query-*.json
    # Touching the crates that hold queries makes their macros run again.
    touch crates/readmodel/src/lib.rs
    SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$(realpath "{{dir}}")" \
      DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" \
      cargo check --quiet -p resourcify-readmodel
    touch crates/readmodel/src/lib.rs

# Projection throughput: appends EVENTS events, replays every projection, prints events/s;
# then the live rate with and without issue #25's views (`new-views`, 200,000 events).
bench-projection events="1000000": services
    cargo build --release -p resourcify-bench
    RUST_LOG=${RUST_LOG:-warn} DATABASE_URL={{test_database_url}} target/release/resourcify-bench projection {{events}}
    RUST_LOG=${RUST_LOG:-warn} DATABASE_URL={{test_database_url}} target/release/resourcify-bench new-views 200000

# One projector process against two building the views of EVENTS events.
bench-projector-nodes events="200000": services
    cargo build --release -p resourcify-bench -p resourcify
    RUST_LOG=${RUST_LOG:-warn} DATABASE_URL={{test_database_url}} target/release/resourcify-bench projector-nodes {{events}}

# Event streams: 1,000 SSE clients, a burst of 1,000 changes; delivery latency and memory.
bench-streams: services
    cargo build --release -p resourcify-bench
    ulimit -n "$(ulimit -Hn)"; RUST_LOG=${RUST_LOG:-warn} DATABASE_URL={{test_database_url}} target/release/resourcify-bench streams

# Memory under mixed load: a node for MINUTES (10 by default), its RSS every 10 s;
# fails when the last minute's is not within 10 % of the second minute's.
soak minutes="10": services
    cargo build --release -p resourcify-bench -p resourcify
    RUST_LOG=${RUST_LOG:-warn} DATABASE_URL={{test_database_url}} target/release/resourcify-bench soak {{minutes}}

# Benchmarks in release mode on loopback; prints ratios to same-run baselines.
# Without arguments: reads and writes (beside the cqrs-es peer and a raw
# JetStream append), then reads under writes and a replay with the
# projections' lag under load (`under-load`), then projection and the
# bulk-load replay (`projection`), then the live rate with and without the
# views of issue #25 (`new-views`), each with met/NOT MET per target.
# `just bench writes` (or `under-load [EVENTS]`, `projection [EVENTS]`,
# `new-views [EVENTS] [PROJECTION…]`) runs one part.
bench *args: services _bench-peer
    #!/usr/bin/env bash
    set -euo pipefail
    command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
    cargo build --release -p resourcify-bench -p resourcify
    # The server (and the peer, its child) on CPU 1; wrk and the fixed-rate
    # drivers on CPU 0 (the bench pins them), where taskset exists.
    pin=$(command -v taskset >/dev/null && echo "taskset -c 1" || true)
    bench() {
      # Projection runs in this process, on both CPUs.
      local on=$pin; case "${1:-}" in projection|new-views) on= ;; esac
      RUST_LOG=${RUST_LOG:-info,async_nats=warn} DATABASE_URL={{test_database_url}} \
        RESOURCIFY_BENCH_PEER=target/peer/release/resourcify-bench-peer \
        $on target/release/resourcify-bench "$@"
    }
    if [ -n "{{args}}" ]; then bench {{args}}; exit; fi
    status=0
    for part in "" under-load projection new-views; do
      echo "== resourcify-bench $part"
      bench $part || status=1
    done
    exit $status

# The write path's peer: cqrs-es with postgres-es, a program outside the workspace (bench/peer).
_bench-peer:
    cargo build --release --quiet --manifest-path bench/peer/Cargo.toml --target-dir target/peer

# A 3-server NATS cluster and a PostgreSQL primary with a streaming replica
# on free loopback ports, for trying the production layout by hand; prints
# the settings a node needs (Ctrl-C stops them).
engines:
    cargo run -q -p resourcify-testkit --bin resourcify-engines

# The fault suite alone, with each scenario's figures (docs/operations.md).
fault-suite: services
    rm -rf target/fault-suite
    DATABASE_URL={{test_database_url}} cargo test -p resourcify --test fault_suite
    scripts/fault-suite-table

# Write docs/openapi.json again from the running code (after an API change).
openapi: services
    RESOURCIFY_UPDATE_OPENAPI=1 DATABASE_URL={{test_database_url}} cargo test -p resourcify-tests --test e2e -- openapi::the_served_document_is_the_checked_in_one
