#!/usr/bin/env bash
# Runs every test of the solution, unit and integration, against a real radosgw on 127.0.0.1.
# Starts the S3 server when none answers and stops it again afterwards.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
log() { echo "[test $(date +%T)] $*" >&2; }

scripts/setup.sh

started_rgw=0
if ! curl -s "http://127.0.0.1:${RGW_PORT:-7480}/" | grep -q ListAllMyBucketsResult; then
  scripts/rgw.sh start >/dev/null
  started_rgw=1
fi
cleanup() { if [ "$started_rgw" = 1 ]; then scripts/rgw.sh stop || true; fi; }
trap cleanup EXIT
eval "$(scripts/rgw.sh env)"
export EDGELABEL_RGW_SCRIPT="$PWD/scripts/rgw.sh"

log "dotnet build"
dotnet build EdgeLabelingStack.sln -c Release --verbosity quiet -nologo
log "dotnet test"
dotnet test EdgeLabelingStack.sln -c Release --no-build --verbosity quiet -nologo \
  --logger "console;verbosity=normal" "$@"
