#!/usr/bin/env bash
# Peak resident memory of `edgelabel label` over 500 images with the YOLOv8n-sized model (640 input, 80 classes),
# against the runtime floor of the same executable (`edgelabel --help`) measured in the same run.
# The images are the committed samples repeated (each copy re-encoded once so no two files are byte-identical
# is not needed: duplicate detection is switched off for this measurement).
# Usage: scripts/bench-label-memory.sh [IMAGES=500]
set -Eeuo pipefail
cd "$(dirname "$0")/.."
log() { echo "[bench-memory $(date +%T)] $*" >&2; }
count=${1:-500}
shift || true
# Anything after the count goes to `edgelabel label` (e.g. --concurrent-runs 1).
extra=("$@")
command -v /usr/bin/time >/dev/null || { log "needs GNU time (apt-get install time)"; exit 1; }

work="$(mktemp -d -t edgelabel-mem.XXXXXX)"
trap 'rm -rf "$work"' EXIT
nice /usr/bin/python3 scripts/demo-model/make_demo_model.py --benchmark-model "$work/yolov8n-640-80.onnx" >/dev/null
mkdir -p "$work/in"
mapfile -t samples < <(ls samples/images/*)
for ((i = 0; i < count; i++)); do
  src=${samples[$((i % ${#samples[@]}))]}
  cp "$src" "$work/in/$(printf '%04d' "$i")-$(basename "$src")"
done
echo '{ "duplicateDetection": false }' >"$work/routing.json"

dotnet build cli/EdgeLabeling.Cli -c Release --verbosity quiet -nologo >/dev/null
exe=cli/EdgeLabeling.Cli/bin/Release/net10.0/edgelabel.dll
peak() { /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; cat "$work/rss"; }

floor_kb=$(peak dotnet "$exe" --help)
label_kb=$(peak dotnet "$exe" label --model "$work/yolov8n-640-80.onnx" --input "$work/in" --output "$work/out" --config "$work/routing.json" --json "${extra[@]}")
images=$(find "$work/in" -type f | wc -l)
printf '| run | images | peak RSS (MB) | ratio to floor |\n|---|---:|---:|---:|\n'
printf '| `edgelabel --help` (runtime floor) | 0 | %.1f | 1.00 |\n' "$(echo "$floor_kb / 1024" | bc -l)"
printf '| `edgelabel label`, YOLOv8n-sized model | %d | %.1f | %.2f |\n' "$images" "$(echo "$label_kb / 1024" | bc -l)" "$(echo "$label_kb / $floor_kb" | bc -l)"
