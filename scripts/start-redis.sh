#!/usr/bin/env bash
# redis-server for the shared rate limits (REDIS_URL).
#   scripts/start-redis.sh --install   installs Debian's redis-server when missing (CI: .ci/run); tests
#                                      start their own servers on free ports (test/support/redis.ts)
#   scripts/start-redis.sh [PORT]      also runs one in the foreground on 127.0.0.1:PORT (default 6379),
#                                      without persistence, for `REDIS_URL=redis://127.0.0.1:6379 npm run dev`
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then echo "redis-server missing: run as root or apt-get install -y redis-server" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
redis-server --version
[ "${1:-}" = "--install" ] && exit 0
exec redis-server --port "${1:-6379}" --bind 127.0.0.1 --save "" --appendonly no
