#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine with the .NET 10 SDK needs to build, test and run
# EdgeLabeling: radosgw (the S3 server for integration tests), the npm-pinned aws-cdk CLI, and a
# NuGet restore. Idempotent; safe to run again.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
log() { echo "[setup $(date +%T)] $*" >&2; }

command -v dotnet >/dev/null || { log "the .NET 10 SDK is required (dotnet not on PATH)"; exit 1; }

if [ "${EDGELABEL_SKIP_RGW:-0}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then scripts/rgw.sh install; else sudo scripts/rgw.sh install; fi
fi

if [ -f package-lock.json ] && command -v npm >/dev/null; then
  if [ ! -d node_modules/aws-cdk ]; then log "npm ci (aws-cdk CLI)"; npm ci --no-audit --no-fund --loglevel=error; fi
fi

log "dotnet restore"
dotnet restore EdgeLabelingStack.sln --verbosity quiet
log "done"
