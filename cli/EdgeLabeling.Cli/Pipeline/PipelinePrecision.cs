using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Quality;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Cli.Pipeline;

/// <summary>
/// The production-precision part of the local loop: what the merge measured on the audit images of this run (the
/// evidence cells in dataset/&lt;attr&gt;/index.json), per class, device and model version, as the merge Lambda
/// emits it and <c>edgelabel retune --dataset</c> reads it.
/// </summary>
internal static class PipelinePrecision
{
    /// <summary>The target the report compares lower bounds with (cdk.json routing.targetPrecision's default).</summary>
    public const double Target = 0.95;

    public static async Task<ProductionPrecisionReport?> RunAsync(IObjectStore store, string dataBucket, string attribute, ProductionPrecisionOptions options, CancellationToken ct)
    {
        var bytes = await store.ReadBytesAsync(dataBucket, DatasetKeys.IndexKey(attribute), ct).ConfigureAwait(false);
        if (bytes is null)
        {
            return null;
        }

        var evidence = JsonSerializer.Deserialize(bytes, DatasetIndexJsonContext.Default.DatasetIndex)!.Evidence.ToList();
        if (evidence.Count == 0)
        {
            return null;
        }

        // The window ends with the latest capture day of the run (sample images may carry old capture dates).
        var last = evidence.Max(c => c.CaptureDay);
        return ProductionPrecision.Compute(evidence, last, options with { TargetPrecision = Target });
    }

    private static JsonObject Row(PrecisionRow r) => new()
    {
        ["class"] = r.Class, ["device"] = r.Device, ["model"] = r.Model, ["images"] = r.Images, ["modelBoxes"] = r.ModelBoxes, ["matchedBoxes"] = r.MatchedBoxes,
        ["humanBoxes"] = r.HumanBoxes, ["precision"] = r.Precision, ["precisionLower"] = r.PrecisionLower, ["precisionUpper"] = r.PrecisionUpper,
        ["recall"] = r.Recall, ["recallLower"] = r.RecallLower, ["recallUpper"] = r.RecallUpper, ["enough"] = r.Enough, ["belowTarget"] = r.BelowTarget,
    };

    public static JsonNode ToJson(ProductionPrecisionReport r) => new JsonObject
    {
        ["from"] = r.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["to"] = r.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["windowDays"] = r.WindowDays,
        ["minBoxes"] = r.MinBoxes,
        ["targetPrecision"] = r.TargetPrecision,
        ["overall"] = Row(r.Overall),
        ["byClass"] = new JsonArray(r.ByClass.Select(x => (JsonNode)Row(x)).ToArray()),
        ["byDevice"] = new JsonArray(r.ByDevice.Select(x => (JsonNode)Row(x)).ToArray()),
        ["byModel"] = new JsonArray(r.ByModel.Select(x => (JsonNode)Row(x)).ToArray()),
        ["classesBelowTarget"] = new JsonArray(r.ClassesBelowTarget.Select(x => (JsonNode)JsonValue.Create(x.Class!)!).ToArray()),
    };

    private static string P(double? v) => v is { } x ? (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "n/a";

    public static void AppendMarkdown(StringBuilder sb, ProductionPrecisionReport? r)
    {
        void L(string line = "") => sb.Append(line).Append('\n');
        L("## Production precision");
        L();
        if (r is null)
        {
            L("No production evidence: no job of this run held an audited or reviewed image with the model's boxes.");
            L();
            return;
        }

        L(string.Create(CultureInfo.InvariantCulture,
            $"Automatic labels checked by people on audit images (auto-accepted images also sent to people), {r.From:yyyy-MM-dd}..{r.To:yyyy-MM-dd}: precision and recall with 95 % Wilson intervals and the sample sizes, as the merge emits them (metrics `ProductionPrecision`, `ProductionPrecisionLowerBound`, `ProductionRecall`, `ProductionAuditedBoxes`). A group needs {r.MinBoxes} audited boxes before its lower bound is compared with the target {P(r.TargetPrecision)}; `edgelabel retune --dataset` recommends thresholds from the same evidence."));
        L();
        L("| group | audited images | model boxes | precision [95 % interval] | people's boxes | recall [95 % interval] | verdict |");
        L("|---|---:|---:|---|---:|---|---|");
        foreach (var (kind, rows) in new[] { ("all", (IReadOnlyList<PrecisionRow>)[r.Overall]), ("class", r.ByClass), ("device", r.ByDevice), ("model", r.ByModel) })
        {
            foreach (var x in rows)
            {
                var verdict = !x.Enough ? $"too few audited boxes (< {r.MinBoxes})" : x.BelowTarget == true ? "**below target**" : "meets target";
                L(string.Create(CultureInfo.InvariantCulture,
                    $"| {kind}: {(x.Label.Length == 0 ? "all" : x.Label)} | {x.Images} | {x.ModelBoxes} | {P(x.Precision)} [{P(x.PrecisionLower)}, {P(x.PrecisionUpper)}] | {x.HumanBoxes} | {P(x.Recall)} [{P(x.RecallLower)}, {P(x.RecallUpper)}] | {verdict} |"));
            }
        }

        L();
    }
}
