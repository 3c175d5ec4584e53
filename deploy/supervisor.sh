#!/usr/bin/env bash
# PID 1 of both images. Usage: supervisor.sh PROCESS...   where PROCESS is `gateway` and/or `vllm`.
#   Dockerfile.gateway:  supervisor.sh gateway         (one child: signals forwarded, exit code passed on)
#   Dockerfile.vllm:     supervisor.sh gateway vllm    (Function Compute: one container per instance,
#                                                       so the gateway and vLLM share it; fc3.md 3.6)
#   compose engine:      supervisor.sh vllm            (the same image, engine only, on compose's network)
#
# Why bash and not a Node script: as PID 1 it must reap orphans. vLLM starts engine-core child processes;
# if vLLM dies they are re-parented to PID 1, and bash reaps any child (waitpid(-1)), where Node only
# reaps the processes it spawned itself. bash is in every base image we use; nothing to install.
#
# Contract:
#   * The gateway starts first, so port 9000 answers within FC's 120 s (fc3.md 2.2) while vLLM loads on
#     127.0.0.1 (its port refuses connections until the model is ready, vllm.md 1.1).
#   * If either child exits on its own, the other is stopped and the container exits non-zero (the
#     child's status, or 1 if it exited 0), so FC or compose replaces the instance. vLLM exits by itself
#     when its engine dies (vllm.md 1.1); that ends up here.
#   * SIGTERM/SIGINT: the gateway is stopped first and drains (it finishes in-flight requests for up to
#     SHUTDOWN_GRACE_MS), then vLLM gets SIGTERM. A child still running after its timeout gets SIGKILL.
#   * SIGHUP is passed to the gateway (it re-reads its API keys).
#   * With both children and no VLLM_API_KEY, a random key is generated for this container's lifetime:
#     the engine and the gateway share it, and it never leaves the container.
#
# Environment (besides what the children read): GATEWAY_MAIN (default /app/dist/gateway/main.js),
# ENGINE_LAUNCH (default /app/vllm/launch.sh), GATEWAY_STOP_TIMEOUT_S (default SHUTDOWN_GRACE_MS/1000 + 5),
# ENGINE_STOP_TIMEOUT_S (default 15).
set -uo pipefail

if ((BASH_VERSINFO[0] < 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1))); then
  echo "supervisor.sh: needs bash >= 5.1 (wait -n -p), found $BASH_VERSION" >&2
  exit 70
fi

GATEWAY_MAIN=${GATEWAY_MAIN:-/app/dist/gateway/main.js}
ENGINE_LAUNCH=${ENGINE_LAUNCH:-/app/vllm/launch.sh}
grace_ms=${SHUTDOWN_GRACE_MS:-25000}
[[ $grace_ms =~ ^[0-9]+$ ]] || grace_ms=25000
GATEWAY_STOP_TIMEOUT_S=${GATEWAY_STOP_TIMEOUT_S:-$((grace_ms / 1000 + 5))}
ENGINE_STOP_TIMEOUT_S=${ENGINE_STOP_TIMEOUT_S:-15}

# One JSON line per event, shaped like the gateway's pino lines so SLS indexes both the same way.
log() {
  local level=$1 msg=${2//\\/\\\\}
  msg=${msg//\"/\\\"}
  printf '{"level":"%s","time":"%s","component":"supervisor","msg":"%s"}\n' "$level" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$msg" >&2
}

gateway_pid=""
engine_pid=""
name_of() { if [ "$1" = "$gateway_pid" ]; then echo gateway; else echo vllm; fi; }

want_gateway=0
want_engine=0
(($# > 0)) || set -- gateway
for process in "$@"; do
  case $process in
    gateway) want_gateway=1 ;;
    vllm) want_engine=1 ;;
    *) log error "unknown process '$process' (expected gateway and/or vllm)"; exit 64 ;;
  esac
done

if ((want_gateway && want_engine)) && [ -z "${VLLM_API_KEY:-}" ]; then
  VLLM_API_KEY=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export VLLM_API_KEY
  log info "generated an engine API key for this container (VLLM_API_KEY was not set)"
fi

# Traps only record the request; the main loop acts on it once `wait` returns.
requested_stop=""
reload_keys=0
trap 'requested_stop=${requested_stop:-SIGTERM}' TERM
trap 'requested_stop=${requested_stop:-SIGINT}' INT
trap 'reload_keys=1' HUP

if ((want_gateway)); then
  node "$GATEWAY_MAIN" &
  gateway_pid=$!
  log info "started gateway (pid $gateway_pid)"
fi
if ((want_engine)); then
  # The engine gets no gateway-only settings: client API keys and the metrics token stay with the gateway,
  # and vLLM would warn about the unknown VLLM_URL variable.
  env -u VLLM_URL -u API_KEYS -u API_KEYS_FILE -u METRICS_TOKEN "$ENGINE_LAUNCH" &
  engine_pid=$!
  log info "started vllm (pid $engine_pid) via $ENGINE_LAUNCH"
fi

# Stops one child: SIGTERM, then SIGKILL after $3 seconds. Sets stop_status to the child's exit status.
stop_status=0
stop_child() {
  local pid=$1 name=$2 timeout_s=$3 watchdog
  [ -n "$pid" ] || return 0
  log info "stopping $name (pid $pid, SIGTERM, up to ${timeout_s}s)"
  kill -TERM "$pid" 2>/dev/null
  (
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$timeout_s" &
    sleeper=$!
    wait "$sleeper"
    log warn "$name did not exit within ${timeout_s}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  ) &
  watchdog=$!
  wait "$pid"
  stop_status=$?
  kill -TERM "$watchdog" 2>/dev/null
  wait "$watchdog" 2>/dev/null
  log info "$name exited with status $stop_status"
}

pids=()
[ -n "$gateway_pid" ] && pids+=("$gateway_pid")
[ -n "$engine_pid" ] && pids+=("$engine_pid")

while :; do
  exited=""
  status=0
  # A signal handled before `wait` started would not interrupt it: check first.
  if [ -z "$requested_stop" ] && ((reload_keys == 0)); then
    wait -n -p exited "${pids[@]}"
    status=$?
  fi

  if [ -n "$requested_stop" ]; then
    # Ignore further signals while stopping: each child's stop is bounded by its own watchdog.
    trap '' TERM INT HUP
    log info "$requested_stop received: the gateway drains first, then vllm stops"
    code=0
    if [ -n "${exited:-}" ]; then
      # A child ended in the same instant; it counts as unexpected.
      log error "$(name_of "${exited:-}") had already exited with status $status"
      code=$((status == 0 ? 1 : status))
      [ "${exited:-}" = "$gateway_pid" ] && gateway_pid="" || engine_pid=""
    fi
    stop_child "$gateway_pid" gateway "$GATEWAY_STOP_TIMEOUT_S"
    ((code == 0)) && code=$stop_status
    stop_child "$engine_pid" vllm "$ENGINE_STOP_TIMEOUT_S"
    ((code == 0 && stop_status != 0 && stop_status != 143)) && code=$stop_status
    log info "stopped (exit $code)"
    exit "$code"
  fi

  if ((reload_keys)); then
    reload_keys=0
    [ -n "$gateway_pid" ] && kill -HUP "$gateway_pid" 2>/dev/null && log info "SIGHUP passed to the gateway"
  fi

  if [ -n "${exited:-}" ]; then
    trap '' TERM INT HUP
    name=$(name_of "${exited:-}")
    log error "$name exited unexpectedly with status $status; stopping the container"
    if [ "${exited:-}" = "$gateway_pid" ]; then
      stop_child "$engine_pid" vllm "$ENGINE_STOP_TIMEOUT_S"
    else
      stop_child "$gateway_pid" gateway "$GATEWAY_STOP_TIMEOUT_S"
    fi
    exit $((status == 0 ? 1 : status))
  fi
done
