#!/usr/bin/env bash
# The browser tests' one entry point (CI calls it): installs what is missing, builds the
# Next.js example, runs every tests/browser/*.test.mjs in real Chromium, prints the counts.
#
#   GATEHOUSE_BIN   the gatehouse binary to test (default /var/tmp/gatehouse-ci-target/debug/gatehouse);
#                   this script builds no Rust: build it first (cargo build)
#   CHROMIUM_PATH   default /usr/bin/chromium (installed with apt-get when missing)
#   SKIP_EXAMPLE_BUILD=1   reuse an existing examples/nextjs/.next build
#   Arguments: test files to run instead of all (./example.test.mjs), and node --test
#   options as --option=value (--test-name-pattern='wrong password').
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
example="$root/examples/nextjs"
export NEXT_TELEMETRY_DISABLED=1
export GATEHOUSE_BIN="${GATEHOUSE_BIN:-/var/tmp/gatehouse-ci-target/debug/gatehouse}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
started=$(date +%s)

log() { printf '\n==> %s\n' "$*"; }

if [ ! -x "$GATEHOUSE_BIN" ]; then
  echo "gatehouse binary not found at $GATEHOUSE_BIN: build it first (cargo build) and set GATEHOUSE_BIN" >&2
  exit 1
fi

if [ ! -x "$CHROMIUM_PATH" ]; then
  log "installing Chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-liberation >/dev/null
fi

command -v node >/dev/null || { echo "node (20 or newer) is needed" >&2; exit 1; }

# npm ci when node_modules does not match package-lock.json.
npm_ci() {
  local dir=$1 stamp="$1/node_modules/.package-lock.sha256"
  local want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "npm ci in ${dir#"$root"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
  fi
}
npm_ci "$here"
npm_ci "$example"

# Next.js compiles rewrites() into the build, so the build fixes where the example proxies
# /api/auth: a port that is free now, on which the tests start gatehouse for the example.
if [ "${SKIP_EXAMPLE_BUILD:-}" != 1 ] || [ ! -f "$example/.next/BUILD_ID" ]; then
  port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  log "building examples/nextjs (GATEHOUSE_URL=http://127.0.0.1:$port)"
  (cd "$example" && GATEHOUSE_URL="http://127.0.0.1:$port" npm run build --silent >/tmp/gatehouse-example-build.log 2>&1) || {
    tail -50 /tmp/gatehouse-example-build.log >&2
    echo "the example did not build" >&2
    exit 1
  }
fi

log "browser tests (gatehouse: $GATEHOUSE_BIN, chromium: $("$CHROMIUM_PATH" --version 2>/dev/null || echo "$CHROMIUM_PATH"))"
cd "$here"
# Arguments: test files, and node --test options written --option=value.
files=() opts=()
for arg in "$@"; do
  case "$arg" in -*) opts+=("$arg") ;; *) files+=("$arg") ;; esac
done
[ ${#files[@]} -gt 0 ] || files=(./*.test.mjs)
out=$(mktemp)
set +e
# One file at a time: the example's build fixes gatehouse's port, and the machine is small.
timeout 900 node --test --test-concurrency=1 --test-reporter=spec ${opts[@]+"${opts[@]}"} "${files[@]}" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -E '^ℹ pass [0-9]+' "$out" | tail -1 | awk '{print $3}')
failed=$(grep -E '^ℹ fail [0-9]+' "$out" | tail -1 | awk '{print $3}')
rm -f "$out"
echo
echo "browser tests took $(( $(date +%s) - started )) s"
echo "browser: ${passed:-0} passed, ${failed:-0} failed"
if [ "$status" -eq 0 ] && [ "${passed:-0}" -eq 0 ]; then
  echo "no browser test ran" >&2
  exit 1
fi
exit "$status"
