using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>One job's entry in the dataset index (also stored beside its shard as jobs/&lt;job&gt;.summary.json).</summary>
public sealed record ShardSummary
{
    public required string Job { get; init; }
    public required string ShardKey { get; init; }
    public long Lines { get; init; }
    public long Images { get; init; }
    public long Boxes { get; init; }
    public long Unlabeled { get; init; }
    public long DuplicateLines { get; init; }
    public required AgreementSummary Audit { get; init; }
    public required AgreementSummary Reviewed { get; init; }

    /// <summary>Label attributes found in the job's output, mapped onto the dataset's.</summary>
    public IReadOnlyDictionary<string, AttributeTally> Attributes { get; init; } = new Dictionary<string, AttributeTally>();

    /// <summary>
    /// Production evidence of the job's audited and reviewed images (per day, device, model, class: model boxes and
    /// matches per confidence bin). Summaries written before this existed have none.
    /// </summary>
    public IReadOnlyList<Quality.PrecisionEvidence> Evidence { get; init; } = [];
    public DateTimeOffset MergedAt { get; init; }
}

/// <summary>Running totals over every shard of the dataset (what the metrics report after each job).</summary>
public sealed record DatasetTotals(long Shards, long HumanImages, long HumanBoxes, AgreementSummary Audit, AgreementSummary Reviewed);

/// <summary>
/// dataset/&lt;attr&gt;/index.json: one small entry per merged job, so a merge reads and writes about 300 bytes per
/// job already merged instead of every line of the dataset. Entries are also stored per job (the summary beside
/// each shard); a merge adds any entry the index lacks from those (two merges racing on the index can drop one
/// another's entry; the next merge puts it back), so the index is a cache of the summaries, never the only copy.
/// </summary>
public sealed record DatasetIndex
{
    public required string Attribute { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public required List<ShardSummary> Shards { get; init; }

    /// <summary>Every job's evidence cells.</summary>
    public IEnumerable<Quality.PrecisionEvidence> Evidence => Shards.SelectMany(s => s.Evidence);

    public DatasetTotals Totals(double iouThreshold)
    {
        var audit = AgreementSummary.None(iouThreshold);
        var reviewed = AgreementSummary.None(iouThreshold);
        long images = 0, boxes = 0;
        foreach (var s in Shards)
        {
            images += s.Images;
            boxes += s.Boxes;
            audit = audit.Plus(s.Audit);
            reviewed = reviewed.Plus(s.Reviewed);
        }

        return new DatasetTotals(Shards.Count, images, boxes, audit, reviewed);
    }

    /// <summary>Adds (or replaces) <paramref name="own"/> and any summary missing from the index, then writes it.</summary>
    public static async Task<DatasetIndex> UpdateAsync(IObjectStore store, string bucket, string attr, ShardSummary own, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var bytes = await store.ReadBytesAsync(bucket, DatasetKeys.IndexKey(attr), cancellationToken).ConfigureAwait(false);
        var index = bytes is null ? null : TryRead(bytes);
        var byJob = new SortedDictionary<string, ShardSummary>(StringComparer.Ordinal);
        foreach (var s in index?.Shards ?? [])
        {
            byJob[s.Job] = s;
        }

        byJob[own.Job] = own;
        await foreach (var o in store.ListAsync(bucket, DatasetKeys.JobShardPrefix(attr), cancellationToken).ConfigureAwait(false))
        {
            if (DatasetKeys.JobOfSummaryKey(attr, o.Key) is { } job && !byJob.ContainsKey(job)
                && await store.ReadBytesAsync(bucket, o.Key, cancellationToken).ConfigureAwait(false) is { } summaryBytes
                && TryReadSummary(summaryBytes) is { } summary)
            {
                byJob[job] = summary;
            }
        }

        var updated = new DatasetIndex { Attribute = attr, UpdatedAt = now, Shards = [.. byJob.Values] };
        await store.PutBytesAsync(bucket, DatasetKeys.IndexKey(attr), JsonSerializer.SerializeToUtf8Bytes(updated, DatasetIndexJsonContext.Default.DatasetIndex), "application/json", cancellationToken: cancellationToken).ConfigureAwait(false);
        return updated;
    }

    private static DatasetIndex? TryRead(byte[] bytes)
    {
        try
        {
            return JsonSerializer.Deserialize(bytes, DatasetIndexJsonContext.Default.DatasetIndex);
        }
        catch (JsonException)
        {
            // A damaged index is rebuilt from the per-job summaries.
            return null;
        }
    }

    private static ShardSummary? TryReadSummary(byte[] bytes)
    {
        try
        {
            return JsonSerializer.Deserialize(bytes, DatasetIndexJsonContext.Default.ShardSummary);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DatasetIndex))]
[JsonSerializable(typeof(ShardSummary))]
public partial class DatasetIndexJsonContext : JsonSerializerContext;
