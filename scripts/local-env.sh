#!/usr/bin/env bash
# Runs a command with the settings of `.env` (ignored by git) added to the
# environment, for `just run` on a developer's machine. On first run it
# writes a random signing secret there, so the server starts with no
# set-up and no shared, guessable secret. A variable already set in the
# environment wins over `.env`; `.env` is only ever appended to.
#   scripts/local-env.sh COMMAND [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
has_secret() { [ -f .env ] && grep -q '^RESOURCIFY_JWT_SECRET=..*' .env; }
if [ -z "${RESOURCIFY_JWT_SECRET:-}" ] && ! has_secret; then
  umask 077
  printf 'RESOURCIFY_JWT_SECRET=%s\n' "$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')" >> .env
  echo "local-env: wrote a random RESOURCIFY_JWT_SECRET to .env (for this machine only)" >&2
fi
if [ -f .env ]; then
  while IFS='=' read -r name value; do
    if [[ $name =~ ^[A-Z_][A-Z0-9_]*$ ]] && [ -n "$value" ] && [ -z "${!name:-}" ]; then
      export "$name=$value"
    fi
  done < .env
fi
exec "$@"
