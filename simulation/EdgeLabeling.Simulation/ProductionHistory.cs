using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Simulation;

/// <summary>One device's behaviour over a generated history.</summary>
public sealed record SimulatedDevice
{
    public required string ThingName { get; init; }

    /// <summary>Share of a class's model boxes that are wrong (no object there), from <see cref="DegradedFrom"/> on; before, <see cref="BaseFalseRate"/>.</summary>
    public IReadOnlyDictionary<string, double> DegradedFalseRate { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>Day index (0-based) from which the degradation applies (a dirty lens, a moved camera).</summary>
    public int DegradedFrom { get; init; } = int.MaxValue;

    /// <summary>Share of model boxes that are wrong on a healthy device.</summary>
    public double BaseFalseRate { get; init; } = 0.005;
}

/// <summary>What the generator makes.</summary>
public sealed record ProductionHistoryRequest
{
    public required DateOnly FirstDay { get; init; }
    public required int Days { get; init; }
    public required IReadOnlyList<SimulatedDevice> Devices { get; init; }
    public IReadOnlyList<string> ClassNames { get; init; } = ["bolt", "nut"];

    /// <summary>Audit images per device and day (auto-accepted images also sent to people).</summary>
    public int AuditImagesPerDay { get; init; } = 30;

    /// <summary>Reviewed images per device and day (the edge was unsure).</summary>
    public int ReviewedImagesPerDay { get; init; } = 10;
    public string ModelSha256 { get; init; } = "5f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
    public string DatasetAttribute { get; init; } = LabelingConventions.DefaultDatasetAttribute;
    public string IncomingBucket { get; init; } = "edgelabeling-incoming";

    /// <summary>The edge's thresholds in force while the history was recorded.</summary>
    public double AutoAcceptThreshold { get; init; } = 0.5;
    public double UncertainLow { get; init; } = 0.25;
    public int Seed { get; init; } = 13;
}

/// <summary>
/// A generated production history: Ground Truth output lines (one per image people answered) as the merge reads
/// them, each with the model's boxes as the chained prior attribute (with confidences), people's boxes, and the
/// edge's provenance (device, model SHA-256, routing reason). Wrong model boxes are drawn where no object is, with
/// confidences spread over the auto-accepted range and weighted low (a degraded camera makes unsure mistakes
/// first), so a higher threshold removes most of them — what retuning is for.
/// </summary>
public static class ProductionHistory
{
    /// <summary>Output lines per day (day index → lines), so a test can merge one job per day.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Generate(ProductionHistoryRequest request)
    {
        var random = new Random(request.Seed);
        var days = new List<IReadOnlyList<string>>();
        var imageNumber = 0;
        for (var d = 0; d < request.Days; d++)
        {
            var day = request.FirstDay.AddDays(d);
            var lines = new List<string>();
            foreach (var device in request.Devices)
            {
                for (var i = 0; i < request.AuditImagesPerDay + request.ReviewedImagesPerDay; i++)
                {
                    var audit = i < request.AuditImagesPerDay;
                    lines.Add(Line(request, device, day, d, audit, imageNumber++, random));
                }
            }

            days.Add(lines);
        }

        return days;
    }

    private static string Line(ProductionHistoryRequest r, SimulatedDevice device, DateOnly day, int dayIndex, bool audit, int number, Random random)
    {
        const int width = 1280, height = 720;
        var human = new List<PixelBox>();
        var model = new List<PixelBox>();
        var slot = 0;
        for (var c = 0; c < r.ClassNames.Count; c++)
        {
            var falseRate = dayIndex >= device.DegradedFrom && device.DegradedFalseRate.TryGetValue(r.ClassNames[c], out var degraded) ? degraded : device.BaseFalseRate;
            for (var k = 0; k < 2; k++, slot++)
            {
                // A real object: people draw it; the model finds it with a confident score.
                var box = new PixelBox(c, 40 + (slot * 150), 60 + (k * 200), 100, 90, 1);
                human.Add(box);
                var low = audit ? r.AutoAcceptThreshold : r.UncertainLow;
                model.Add(box with { Left = box.Left + 3, Top = box.Top - 2, Confidence = Math.Round(low + ((0.99 - low) * Math.Sqrt(random.NextDouble())), 3) });
                if (random.NextDouble() < falseRate / (1 - falseRate))
                {
                    // A wrong box (no object): far from every real one, unsure more often than not.
                    var lowFalse = audit ? r.AutoAcceptThreshold : r.UncertainLow;
                    var confidence = Math.Round(lowFalse + ((0.9 - lowFalse) * Math.Pow(random.NextDouble(), 3)), 3);
                    model.Add(new PixelBox(c, 40 + (slot * 150), 520, 90, 80, confidence));
                }
            }

            if (!audit && random.NextDouble() < 0.6)
            {
                // Why the edge was unsure: a wrong box in the uncertain band.
                var confidence = Math.Round(r.UncertainLow + ((r.AutoAcceptThreshold - r.UncertainLow) * random.NextDouble()), 3);
                model.Add(new PixelBox(c, 40 + (c * 300), 640, 70, 60, Math.Min(confidence, r.AutoAcceptThreshold - 0.001)));
            }
        }

        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{r.Seed}/{device.ThingName}/{number}")));
        var capture = new DateTimeOffset(day.ToDateTime(new TimeOnly(10, 0)), TimeSpan.Zero).AddSeconds(number % 3600);
        var sourceRef = $"s3://{r.IncomingBucket}/{ObjectKeyLayout.ImageKey(device.ThingName, capture, sha, "jpg")}";
        var size = new ImageSize(width, height, 3);
        var provenance = new JsonObject
        {
            ["source"] = "model",
            ["device"] = device.ThingName,
            ["model-sha256"] = r.ModelSha256,
            ["edge-reason"] = audit ? LabelingConventions.AuditSampleReason : "uncertain-box",
        };
        var prior = GroundTruthManifest.BuildLine(sourceRef, LabelingConventions.PriorAttribute(r.DatasetAttribute), size, model, r.ClassNames, humanAnnotated: false,
            LabelingConventions.EdgeAutoLabelJobName(device.ThingName), capture, [KeyValuePair.Create<string, JsonNode?>("edgelabel-provenance", provenance)]);
        var people = GroundTruthManifest.BuildLine(sourceRef, LabelingConventions.HumanAttribute(r.DatasetAttribute), size, human, r.ClassNames, humanAnnotated: true,
            "labeling-job/edgelabel-history-" + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture), capture.AddHours(2));
        foreach (var (key, value) in people)
        {
            if (key != "source-ref")
            {
                prior[key] = value?.DeepClone();
            }
        }

        return prior.ToJsonString();
    }
}

/// <summary>What merging a generated history did: the merge result of each day's job, in order.</summary>
public sealed record MergedHistory(IReadOnlyList<EdgeLabeling.Labeling.Merge.MergeResult> Jobs);

/// <summary>
/// Merges a generated history through the real <see cref="EdgeLabeling.Labeling.Merge.DatasetMerger"/>: one Ground Truth
/// job per day, its output written where DescribeLabelingJob says, its completion event merged at the end of that
/// day, so the dataset index ends up with the evidence the production precision and retune read.
/// </summary>
public static class ProductionHistoryMerge
{
    public static async Task<MergedHistory> MergeAsync(EdgeLabeling.Storage.IObjectStore store, string dataBucket, IReadOnlyList<IReadOnlyList<string>> days, DateOnly firstDay,
        string workDirectory, EdgeLabeling.Labeling.ILabelingMetrics? metrics = null, EdgeLabeling.Labeling.Quality.ProductionPrecisionOptions? precision = null,
        string jobPrefix = "edgelabel-history", CancellationToken cancellationToken = default)
    {
        var ledger = new EdgeLabeling.Labeling.Merge.InMemoryJobItemsLedger();
        var outputs = new EdgeLabeling.Labeling.Merge.InMemoryJobOutputLocator();
        var options = new EdgeLabeling.Labeling.Merge.MergeOptions { DataBucket = dataBucket, WorkDirectory = workDirectory, ProductionPrecision = precision ?? new() };
        var merger = new EdgeLabeling.Labeling.Merge.DatasetMerger(store, ledger, options, new EdgeLabeling.Labeling.Merge.DatasetBuilder(), metrics: metrics, outputs: outputs);
        var results = new List<EdgeLabeling.Labeling.Merge.MergeResult>();
        for (var d = 0; d < days.Count; d++)
        {
            var day = firstDay.AddDays(d);
            var job = $"{jobPrefix}-{day:yyyyMMdd}";
            var key = LabelingConventions.JobOutputManifestKey(job);
            var body = Encoding.UTF8.GetBytes(string.Join('\n', days[d]) + "\n");
            await store.PutBytesAsync(dataBucket, key, body, "application/jsonlines", cancellationToken: cancellationToken).ConfigureAwait(false);
            ledger.AddJob(job, days[d].Select(l => ManifestLineParser.Parse(Encoding.UTF8.GetBytes(l)).SourceRef!));
            outputs.Set(job, new EdgeLabeling.Labeling.Merge.JobOutputReport("Completed", $"s3://{dataBucket}/{key}", null, days[d].Count));
            var end = new DateTimeOffset(day.ToDateTime(new TimeOnly(23, 0)), TimeSpan.Zero);
            results.Add(await merger.MergeAsync(new EdgeLabeling.Labeling.Merge.JobStateChange(job, $"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{job}", "Completed", end), cancellationToken).ConfigureAwait(false));
        }

        return new MergedHistory(results);
    }
}
