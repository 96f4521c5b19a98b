#!/usr/bin/env bash
# Makes a machine ready to run calgate: Node 24, pnpm, PostgreSQL and Redis up, dependencies
# installed from the lockfile; with --with-browser (the test command) also Chromium for the
# dashboard's browser test. Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.9
log() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" != "24" ]; then
  log "installing Node.js 24 (found: $(node --version 2>/dev/null || echo none))"
  npm install -g --force node@24 >/dev/null
  hash -r
fi
[ "$(node_major)" = "24" ] || { echo "Node.js 24 is required but $(node --version) is on PATH" >&2; exit 1; }

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  log "installing pnpm $PNPM_VERSION"
  # After node@24 replaces the system node, npm's global prefix moves: install pnpm next to node.
  npm install -g --prefix "$(dirname "$(dirname "$(command -v node)")")" "pnpm@$PNPM_VERSION" >/dev/null 2>&1 \
    || npm install -g --prefix /usr "pnpm@$PNPM_VERSION" >/dev/null
  hash -r
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not accepting connections on 127.0.0.1:5432" >&2; exit 1; }

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis is not answering on 127.0.0.1:6379" >&2; exit 1; }

# The dashboard's browser test drives Debian's Chromium (playwright-core never downloads a browser);
# running the system does not need it.
with_browser=false
[ "${1:-}" = "--with-browser" ] && with_browser=true
if $with_browser && [ ! -x /usr/bin/chromium ]; then
  log "installing Chromium (Debian package chromium)"
  # Quiet unless it fails: then apt's own output says why.
  apt_log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
  fi
  rm -f "$apt_log"
fi
if $with_browser && [ ! -x /usr/bin/chromium ]; then
  echo "Chromium is required at /usr/bin/chromium for the tests (Debian package chromium)" >&2
  exit 1
fi

log "installing dependencies (frozen lockfile)"
pnpm install --frozen-lockfile --reporter=silent
log "ready: node $(node --version), pnpm $(pnpm --version)"
