#!/usr/bin/env bash
# Builds every image the container tests (test/containers) use, from local material only, for CI and for
# developers. Idempotent: Docker's layer cache makes a second run take seconds.
#   1. the Node base (scripts/build-base-images.sh: debootstrap + Node from the npm registry)
#   2. vllm-gateway-build:$TAG  Dockerfile.gateway's build stage (compiled gateway + simulator)
#   3. vllm-gateway:$TAG        Dockerfile.gateway                  (the gateway image under test)
#   4. vllm-gateway-sim:$TAG    deploy/test/Dockerfile.vllm-sim     (stand-in for vllm/vllm-openai)
#   5. vllm-gateway-fc:$TAG     Dockerfile.vllm on the stand-in     (the FC image's wiring under test;
#                               weights "baked" by the stand-in's fake `hf`)
#   6. vllm-gateway-lb:$TAG     deploy/nginx/Dockerfile             (nginx for compose's scale profiles)
# The names are those in test/containers/images.ts. Needs a running engine (scripts/start-docker.sh).
# Builds use the host network: `npm ci` in the build stage reaches the npm registry that way, and CAs the
# site added in /usr/local/share/ca-certificates (TLS-intercepting proxies) are handed to npm.
set -euo pipefail
cd "$(dirname "$0")/.."

TAG=${IMAGE_TAG:-ci}
say() { printf 'build-images: %s\n' "$*" >&2; }
started=$(date +%s)

step_started=$started
node_base=$(bash scripts/build-base-images.sh | tail -n 1)
say "node base $node_base ready ($(($(date +%s) - step_started))s)"

extra_ca=""
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  extra_ca=$(cat /usr/local/share/ca-certificates/*.crt)
fi

build() {
  local what=$1
  shift
  local t0
  t0=$(date +%s)
  # The legacy builder is chatty and, with Docker CLI >= 23 and no buildx, warns that it is deprecated; keep
  # the output for a failure only.
  if ! docker build --network host "$@" >"/tmp/build-images.$$.log" 2>&1; then
    tail -n 40 "/tmp/build-images.$$.log" >&2
    rm -f "/tmp/build-images.$$.log"
    say "FAILED: $what"
    exit 1
  fi
  rm -f "/tmp/build-images.$$.log"
  say "$what ($(($(date +%s) - t0))s)"
}

build "vllm-gateway-build:$TAG" -f Dockerfile.gateway --target build \
  --build-arg NODE_IMAGE="$node_base" --build-arg EXTRA_CA_CERTS="$extra_ca" -t "vllm-gateway-build:$TAG" .
build "vllm-gateway:$TAG" -f Dockerfile.gateway \
  --build-arg NODE_IMAGE="$node_base" --build-arg EXTRA_CA_CERTS="$extra_ca" -t "vllm-gateway:$TAG" .
build "vllm-gateway-sim:$TAG" -f deploy/test/Dockerfile.vllm-sim \
  --build-arg BUILD_IMAGE="vllm-gateway-build:$TAG" --build-arg NODE_IMAGE="$node_base" -t "vllm-gateway-sim:$TAG" .
build "vllm-gateway-fc:$TAG" -f Dockerfile.vllm \
  --build-arg VLLM_IMAGE="vllm-gateway-sim:$TAG" --build-arg GATEWAY_IMAGE="vllm-gateway:$TAG" -t "vllm-gateway-fc:$TAG" .

# ---- step 6 (issue 11): vllm-gateway-lb:$TAG, nginx in front of several gateway replicas ----------------
# deploy/nginx/Dockerfile on the same Node base (Debian's nginx from the base's apt mirror), for compose's
# scale profiles and test/containers/compose-scale.test.ts. Its own build context: deploy/nginx.
build "vllm-gateway-lb:$TAG" --build-arg BASE_IMAGE="$node_base" -t "vllm-gateway-lb:$TAG" deploy/nginx
# ---- end of step 6 ------------------------------------------------------------------------------------

for image in "vllm-gateway:$TAG" "vllm-gateway-fc:$TAG"; do
  say "$image: $(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}')"
done
say "all images built in $(($(date +%s) - started))s"
