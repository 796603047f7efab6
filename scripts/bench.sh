#!/usr/bin/env bash
# Edge inference benchmarks: pipeline (decode + letterbox + run + output decoding) vs session.Run alone,
# for the committed demo model and a YOLOv8n-sized model (640 input, 80 classes) generated into a temp folder.
# Usage: scripts/bench.sh [extra BenchmarkDotNet args, e.g. --exporters json]
set -Eeuo pipefail
cd "$(dirname "$0")/.."
log() { echo "[bench $(date +%T)] $*" >&2; }

work="$(mktemp -d -t edgelabel-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

log "generating the YOLOv8n-sized benchmark model (not committed)"
nice /usr/bin/python3 scripts/demo-model/make_demo_model.py --benchmark-model "$work/yolov8n-640-80.onnx" >&2
export EDGELABEL_BENCH_MODEL="$work/yolov8n-640-80.onnx"

log "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
log "running benchmarks (results in $PWD/BenchmarkDotNet.Artifacts/results)"
dotnet run -c Release --project benchmarks/EdgeLabeling.Benchmarks -- \
  --filter '*InferencePipelineBenchmarks*' --artifacts "$PWD/BenchmarkDotNet.Artifacts" "$@"
log "paired rounds (interleaved, noise-resistant ratios)"
dotnet run -c Release --no-build --project benchmarks/EdgeLabeling.Benchmarks -- inference-paired "${EDGELABEL_BENCH_ROUNDS:-8}"
log "done; load: $(cut -d' ' -f1-3 /proc/loadavg)"
