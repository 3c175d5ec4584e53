#!/usr/bin/env bash
# Starts vLLM's OpenAI-compatible server for Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4 on one NVIDIA T4
# (16 GB, compute capability 7.5). Every value below can be overridden by an environment variable of
# the same name; the defaults and the reasons for them come from /work/shared/reference/vllm.md (cited
# as vllm.md). The same script runs the simulator in tests: VLLM_BIN names the binary to exec.
#
# Where the weights come from (deploy/README.md, "How the weights get in"):
#   * MODEL_PATH set: a local directory holding the checkpoint, either baked into the image at build time
#     (Dockerfile.vllm sets MODEL_PATH to it) or an FC NAS/OSS mount. It must hold config.json; nothing is
#     downloaded.
#   * MODEL_PATH unset: the Hugging Face id MODEL_ID at MODEL_REVISION, downloaded into the HF cache on
#     first start unless HF_HUB_OFFLINE=1 (the images set it: no network at run time).
#
# The engine's API key is VLLM_API_KEY, which vLLM reads itself when no --api-key flag is given
# (vllm.md 6): the same check as `--api-key`, but the key stays out of the process list and out of the
# argument dump vLLM logs at startup. The gateway sends the same variable as its Bearer token.
set -euo pipefail

MODEL_ID=${MODEL_ID:-Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4}
# A pinned Hugging Face commit, so a rebuild serves the same weights (used only when MODEL_PATH is unset).
MODEL_REVISION=${MODEL_REVISION:-e9c932ac1893a49ae0fc497ad6e1e86e2e39af20}
MODEL_PATH=${MODEL_PATH:-}
# The first name appears in every response and in the metrics' model_name label; more names are aliases
# (space-separated; vllm.md 8 "Naming").
SERVED_MODEL_NAME=${SERVED_MODEL_NAME:-qwen2.5-7b-instruct}
# Loopback beside the gateway: vLLM's --api-key does not guard /invocations, /tokenize or /metrics, so its
# port must not be reachable from outside (vllm.md 6). Compose sets 0.0.0.0 on its private network.
ENGINE_HOST=${ENGINE_HOST:-127.0.0.1}
ENGINE_PORT=${ENGINE_PORT:-8000}
# T4 has no bf16 (cc < 8.0) and the GPTQ checkpoint is fp16: say so explicitly (vllm.md 8 "dtype").
# No --quantization flag: vLLM reads quant_method gptq from the checkpoint and picks the Marlin kernel on
# sm75 (vllm.md 8 "Which GPTQ kernel runs").
DTYPE=${DTYPE:-float16}
# Half the native 32k context: one 16k sequence needs ~0.9 GiB of KV cache out of ~5-6 GiB left after the
# weights, so many sequences still fit, and a single request cannot monopolise the T4 (vllm.md 8 "Memory").
MAX_MODEL_LEN=${MAX_MODEL_LEN:-16384}
# vLLM's own default; above ~0.93 a 16 GB card runs out during CUDA-graph capture (vllm.md 8).
GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.90}
# The T4 default is 256; a T4 is compute-bound, so 32 bounds per-token latency and sampler memory
# (vllm.md 8 "Suggested flags"). Keep the gateway's MAX_CONCURRENT_REQUESTS equal to it (s.yaml).
MAX_NUM_SEQS=${MAX_NUM_SEQS:-32}
# Qwen2.5's chat template already speaks Hermes-style <tool_call> tags (vllm.md 8 "Tool calling").
TOOL_CALL_PARSER=${TOOL_CALL_PARSER:-hermes}
# Anything else, word-split, appended last (e.g. "--enforce-eager" for quick test iterations, vllm.md 8).
ENGINE_EXTRA_ARGS=${ENGINE_EXTRA_ARGS:-}
VLLM_BIN=${VLLM_BIN:-vllm}

fail() {
  printf 'launch.sh: %s\n' "$*" >&2
  exit 2
}

[[ $ENGINE_PORT =~ ^[0-9]+$ ]] && ((ENGINE_PORT >= 1 && ENGINE_PORT <= 65535)) || fail "ENGINE_PORT must be a port number, got '$ENGINE_PORT'"
[[ $MAX_MODEL_LEN =~ ^[0-9]+$ ]] || fail "MAX_MODEL_LEN must be a whole number of tokens, got '$MAX_MODEL_LEN'"
[[ $MAX_NUM_SEQS =~ ^[0-9]+$ ]] && ((MAX_NUM_SEQS >= 1)) || fail "MAX_NUM_SEQS must be a whole number >= 1, got '$MAX_NUM_SEQS'"
[[ $GPU_MEMORY_UTILIZATION =~ ^(0(\.[0-9]+)?|1(\.0+)?)$ ]] || fail "GPU_MEMORY_UTILIZATION must be a fraction between 0 and 1, got '$GPU_MEMORY_UTILIZATION'"
[[ $DTYPE =~ ^(float16|half|auto)$ ]] || fail "DTYPE must be float16 (or half/auto) on a T4, which has no bfloat16; got '$DTYPE'"
[ -n "${VLLM_API_KEY:-}" ] || fail "VLLM_API_KEY is not set: the engine would serve without a key (the FC supervisor generates one; compose reads it from .env)"

model_args=()
if [ -n "$MODEL_PATH" ]; then
  [ -f "$MODEL_PATH/config.json" ] || fail "MODEL_PATH=$MODEL_PATH has no config.json (weights not baked into this image, or the NAS/OSS mount is missing)"
  model_args=("$MODEL_PATH")
else
  model_args=("$MODEL_ID" --revision "$MODEL_REVISION")
fi

read -r -a served_names <<<"$SERVED_MODEL_NAME"
((${#served_names[@]} > 0)) || fail "SERVED_MODEL_NAME is empty"
read -r -a extra_args <<<"$ENGINE_EXTRA_ARGS"

args=(
  serve "${model_args[@]}"
  --host "$ENGINE_HOST"
  --port "$ENGINE_PORT"
  --served-model-name "${served_names[@]}"
  --dtype "$DTYPE"
  --max-model-len "$MAX_MODEL_LEN"
  --gpu-memory-utilization "$GPU_MEMORY_UTILIZATION"
  --max-num-seqs "$MAX_NUM_SEQS"
  --enable-auto-tool-choice
  --tool-call-parser "$TOOL_CALL_PARSER"
  "${extra_args[@]}"
)
printf 'launch.sh: %s %s\n' "$VLLM_BIN" "${args[*]}" >&2
exec "$VLLM_BIN" "${args[@]}"
