#!/bin/sh
# Starts gatehouse the way this example expects it (settings in ../gatehouse.env):
# cookie mode, seed 002's roles and permissions, short access tokens, and PUBLIC_URL = the
# Next.js app's origin (the app proxies /api/auth to gatehouse, so that is where users reach it).
#
#   APP_URL        the app's origin, gatehouse's PUBLIC_URL      (default http://localhost:3000)
#   GATEHOUSE_URL  where gatehouse listens                        (default http://127.0.0.1:8080)
#   GATEHOUSE_BIN  the gatehouse binary (default: `gatehouse` on PATH, else `cargo run --release`)
#   DATABASE_URL   (default: sqlite://gatehouse-example.db in this folder)
# Without SMTP_URL, mails (verification links, codes) are written to gatehouse's log.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)

set -a
. "$here/gatehouse.env"
set +a

APP_URL=${APP_URL:-http://localhost:3000}
GATEHOUSE_URL=${GATEHOUSE_URL:-http://127.0.0.1:8080}
export PUBLIC_URL="$APP_URL"
export BIND_ADDR="${GATEHOUSE_URL#*://}"
export DATABASE_URL="${DATABASE_URL:-sqlite://$here/gatehouse-example.db?mode=rwc}"

echo "gatehouse on $GATEHOUSE_URL, PUBLIC_URL=$PUBLIC_URL, roles $ROLES" >&2
if [ -n "${GATEHOUSE_BIN:-}" ]; then
  exec "$GATEHOUSE_BIN" serve
elif command -v gatehouse >/dev/null 2>&1; then
  exec gatehouse serve
else
  exec cargo run --release --manifest-path "$here/../../Cargo.toml" -- serve
fi
