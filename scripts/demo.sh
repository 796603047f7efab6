#!/usr/bin/env bash
# The README's main job: the whole EdgeLabeling loop on this machine, on the shipped sample images and
# demo model, with the embedded local object store (no AWS account, no S3 server):
#   edge component -> object store -> ingest/batch Lambdas -> simulated Ground Truth -> merge Lambda -> dataset + report
# Extra arguments go to `edgelabel pipeline` (e.g. --seed 3, --config my.json, --s3-endpoint URL).
# Output: out/demo/report.md, report.json, charts/*.png, dataset/dataset.manifest + coco.json.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

EDGELABEL_SKIP_RGW=1 scripts/setup.sh
exec dotnet run --project cli/EdgeLabeling.Cli -c Release -- pipeline --output out/demo "$@"
