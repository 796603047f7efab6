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
results=$(mktemp)
set +e
dotnet test EdgeLabelingStack.sln -c Release --no-build --verbosity quiet -nologo "$@" 2>&1 | tee "$results"
rc=${PIPESTATUS[0]}
set -e
# One closing line over all test assemblies (vstest prints one summary per assembly).
awk '/(Passed|Failed)!  - Failed:/ {
       for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     } END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$results"
rm -f "$results"
exit "$rc"
