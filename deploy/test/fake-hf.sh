#!/bin/sh
# Test stand-in for Hugging Face's `hf` CLI inside deploy/test/Dockerfile.vllm-sim: `hf download REPO
# --revision REV --local-dir DIR` writes a config.json that records what was asked for, so the container
# tests can check that Dockerfile.vllm bakes the pinned revision where launch.sh looks (no network).
set -eu
[ "${1:-}" = download ] || { echo "fake hf: only 'download' is simulated" >&2; exit 2; }
shift
repo=$1
shift
revision=main
dir=
while [ $# -gt 0 ]; do
  case $1 in
    --revision) revision=$2; shift 2 ;;
    --local-dir) dir=$2; shift 2 ;;
    *) shift ;;
  esac
done
[ -n "$dir" ] || { echo "fake hf: --local-dir is required" >&2; exit 2; }
mkdir -p "$dir"
printf '{"_name_or_path":"%s","_revision":"%s","quantization_config":{"quant_method":"gptq","bits":4}}\n' "$repo" "$revision" >"$dir/config.json"
echo "fake hf: wrote $dir/config.json for $repo@$revision"
