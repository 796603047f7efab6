#!/usr/bin/env bash
# Publishes the labeling Lambdas (lambdas/EdgeLabeling.Lambdas) as the CDK asset:
# framework-dependent for the dotnet10 managed runtime, for the one architecture the environment's
# cdk.json `lambda.architecture` names (arm64 → linux-arm64, x86_64 → linux-x64), ReadyToRun, and
# without the local-only SQLite store (see the project file).
#   scripts/publish-lambdas.sh [--env dev] [--arch arm64|x86_64] [--output artifacts/lambdas] [--no-r2r]
set -Eeuo pipefail
cd "$(dirname "$0")/.."
log() { echo "[publish-lambdas $(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

env_name=dev arch="" out=artifacts/lambdas r2r=true
while [ $# -gt 0 ]; do
  case "$1" in
    --env) env_name="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --output) out="$2"; shift 2 ;;
    --no-r2r) r2r=false; shift ;;
    *) die "unknown argument '$1'" ;;
  esac
done

if [ -z "$arch" ]; then
  arch=$(python3 -c 'import json,sys; print(json.load(open("cdk.json"))["context"]["environments"][sys.argv[1]]["lambda"]["architecture"])' "$env_name") \
    || die "cdk.json has no environments.$env_name.lambda.architecture"
fi
case "$arch" in
  arm64) rid=linux-arm64 ;;
  x86_64) rid=linux-x64 ;;
  *) die "architecture '$arch' must be arm64 or x86_64" ;;
esac

rm -rf "$out"
log "dotnet publish lambdas/EdgeLabeling.Lambdas -r $rid (ReadyToRun=$r2r) → $out"
DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet publish lambdas/EdgeLabeling.Lambdas -c Release -r "$rid" --self-contained false \
  -p:PublishReadyToRun="$r2r" -o "$out" --verbosity quiet -nologo
[ -f "$out/EdgeLabeling.Lambdas.dll" ] || die "publish wrote no EdgeLabeling.Lambdas.dll"
if ls "$out" | grep -qi sqlite || [ -d "$out/runtimes" ]; then
  die "the package contains SQLite or per-platform runtimes: $(ls "$out" | grep -i sqlite || true) $(ls -d "$out/runtimes" 2>/dev/null || true)"
fi
log "ok: $rid, $(du -sb "$out" | cut -f1) bytes in $(find "$out" -type f | wc -l) files"
