#!/usr/bin/env bash
# Makes a Docker engine available to this user, for scripts/build-images.sh and the container tests.
#   1. an engine already answers `docker info`          -> nothing to do
#   2. no dockerd binary                                 -> apt-get install docker.io (Debian 12)
#   3. systemd runs the machine                          -> systemctl start docker
#      otherwise (CI runners, sandboxes, containers)     -> dockerd in the background, log in $DOCKERD_LOG
#   4. wait until `docker info` works (DOCKER_START_TIMEOUT_S, default 60 s)
# If dockerd cannot start with its default storage driver (overlayfs is refused inside some sandboxes and
# nested containers), it is restarted once with the `vfs` driver, which works everywhere but copies every
# layer in full. DOCKER_STORAGE_DRIVER forces a driver from the start. Needs root for steps 2 and 3.
# Idempotent: run it as often as you like.
set -euo pipefail

LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
WAIT_S=${DOCKER_START_TIMEOUT_S:-60}

say() { printf 'start-docker: %s\n' "$*" >&2; }
engine_up() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

wait_for_engine() {
  local pid=${1:-} deadline=$(( $(date +%s) + WAIT_S ))
  until engine_up; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then return 1; fi
    sleep 1
  done
}

if engine_up; then
  say "engine already running ($(docker info --format '{{.ServerVersion}}, storage driver {{.Driver}}'))"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  say "dockerd not found: installing docker.io with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && [ -z "${DOCKER_STORAGE_DRIVER:-}" ]; then
  say "starting docker with systemd"
  systemctl start docker
  if wait_for_engine; then
    say "engine up ($(docker info --format '{{.ServerVersion}}, storage driver {{.Driver}}'))"
    exit 0
  fi
  say "systemd could not start docker; see: journalctl -u docker"
  exit 1
fi

# Starts dockerd detached from this shell (setsid), so it outlives the script; prints its pid.
start_dockerd() {
  local args=()
  if [ -n "${1:-}" ]; then args+=(--storage-driver "$1"); fi
  mkdir -p "$(dirname "$LOG")"
  setsid dockerd "${args[@]}" >>"$LOG" 2>&1 </dev/null &
  echo $!
}

driver=${DOCKER_STORAGE_DRIVER:-}
say "starting dockerd in the background${driver:+ (storage driver $driver)}; log: $LOG"
pid=$(start_dockerd "$driver")
if wait_for_engine "$pid"; then
  say "engine up ($(docker info --format '{{.ServerVersion}}, storage driver {{.Driver}}'))"
  exit 0
fi

if [ -z "$driver" ]; then
  say "dockerd did not come up with its default storage driver; last log lines:"
  tail -n 5 "$LOG" >&2 || true
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  say "retrying with --storage-driver vfs (slower builds, works where overlayfs is refused)"
  pid=$(start_dockerd vfs)
  if wait_for_engine "$pid"; then
    say "engine up ($(docker info --format '{{.ServerVersion}}, storage driver {{.Driver}}'))"
    exit 0
  fi
fi

say "dockerd did not come up within ${WAIT_S}s; last log lines:"
tail -n 20 "$LOG" >&2 || true
exit 1
