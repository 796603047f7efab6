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
