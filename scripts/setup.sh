#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine with the .NET 10 SDK needs to build, test and run
# EdgeLabeling: radosgw (the S3 server for integration tests), the npm-pinned aws-cdk CLI and dynalite
# (a DynamoDB-compatible server for integration tests), and a NuGet restore. Idempotent; safe to run again.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
log() { echo "[setup $(date +%T)] $*" >&2; }

command -v dotnet >/dev/null || { log "the .NET 10 SDK is required (dotnet not on PATH)"; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Report charts need a TrueType font (SkiaSharp's NoDependencies build cannot ask fontconfig).
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  log "apt-get install fonts-dejavu-core"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-dejavu-core >/dev/null
fi

# Packaging and the device-compatibility tests: python3 (deterministic ZIPs), objdump for both architectures
# (scripts/check-glibc-floor.sh), qemu-user for running the linux-arm64 component, and the Debian archive keys
# for the Debian 11 arm64 libraries it runs on (scripts/arm64-sysroot.sh).
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v objdump >/dev/null || missing+=(binutils)
command -v aarch64-linux-gnu-objdump >/dev/null || missing+=(binutils-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
command -v unshare >/dev/null || missing+=(util-linux)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
# The edge component's queue uses the system SQLite (libsqlite3.so.0), as on the devices.
ldconfig -p 2>/dev/null | grep -q 'libsqlite3\.so\.0 ' || missing+=(libsqlite3-0)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
scripts/arm64-sysroot.sh >/dev/null

# The review page's browser test drives Debian's chromium (Playwright's own browser download is not used).
if [ "${EDGELABEL_SKIP_RGW:-0}" != 1 ] && ! command -v chromium >/dev/null; then
  log "apt-get install chromium"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if [ "${EDGELABEL_SKIP_RGW:-0}" != 1 ]; then
  as_root scripts/rgw.sh install
fi

if [ -f package-lock.json ] && command -v npm >/dev/null; then
  if [ ! -d node_modules/aws-cdk ] || [ ! -d node_modules/dynalite ] || [ ! -d node_modules/@annotorious/annotorious ]; then
    log "npm ci (aws-cdk CLI, dynalite, the review page's Annotorious and esbuild)"; npm ci --no-audit --no-fund --loglevel=error
  fi
  # The review page is bundled at build time into review-app/dist (served by edgelabel review); no CDN at run time.
  log "npm run build:review"; npm run --silent build:review >/dev/null
fi

log "dotnet restore"
dotnet restore EdgeLabelingStack.sln --verbosity quiet
log "done"
