using EdgeLabeling.Contracts;
using Microsoft.Extensions.Logging;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>What one job's output became: its shard's counts plus the fingerprints of the images it labeled.</summary>
public sealed record JobShardResult
{
    public long Lines { get; init; }
    public long Labeled { get; init; }
    public long Unlabeled { get; init; }
    public long DuplicateLines { get; init; }
    public long Boxes { get; init; }
    public required IReadOnlyDictionary<string, long> Rejected { get; init; }
    public required FingerprintSet LabeledKeys { get; init; }
    public required SourceReport Source { get; init; }
    public required AgreementSummary Audit { get; init; }
    public required AgreementSummary Reviewed { get; init; }

    /// <summary>Production evidence of the job's audited and reviewed images.</summary>
    public IReadOnlyList<Quality.PrecisionEvidence> Evidence { get; init; } = [];
}

/// <summary>
/// Turns one Ground Truth output manifest into the job's dataset shard: one dataset line per labeled image
/// (label attribute found per line and written under the dataset's attribute, provenance added), so the
/// merge of a job costs O(job) and the export only concatenates and joins shards. Agreement of the model
/// with people is measured here on the job's own lines: audit images are those the edge sent as an
/// <see cref="LabelingConventions.AuditSampleReason"/>, the rest are reviewed images.
/// </summary>
public static class JobShard
{
    public static async Task<JobShardResult> WriteAsync(Stream jobOutput, Stream shard, string sourceName, string datasetAttribute, double iouThreshold,
        DateTimeOffset fallbackCreationDate, ILogger logger, CancellationToken cancellationToken)
    {
        var rejected = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var labeledKeys = new FingerprintSet();
        var parsed = ManifestLine.CreateReusable();
        var tally = new SourceTally(sourceName, "job-output");
        var audit = new BoxAgreement(iouThreshold);
        var reviewed = new BoxAgreement(iouThreshold);
        var evidence = new Quality.PrecisionEvidenceBuilder(iouThreshold);
        long lines = 0, labeled = 0, unlabeled = 0, duplicates = 0, boxes = 0;
        var buffered = new BufferedStream(shard, 1 << 16);
        using (var writer = new DatasetLineWriter(buffered))
        {
            await foreach (var (lineNumber, bytes) in Utf8LineReader.ReadAsync(jobOutput, cancellationToken).ConfigureAwait(false))
            {
                lines++;
                var line = ManifestLineParser.Parse(bytes.Span, parsed);
                var choice = LabelSelection.Choose(line, datasetAttribute, LabelRole.Human);
                tally.Add(line, choice);
                if (choice.Label is not { } label)
                {
                    if (choice.IsUnlabeled)
                    {
                        unlabeled++;
                    }
                    else
                    {
                        rejected[choice.Reason!] = rejected.GetValueOrDefault(choice.Reason!) + 1;
                        logger.LogWarning("{Source} line {Line}: {Reason} ({Detail})", sourceName, lineNumber, choice.Reason, choice.Detail);
                    }

                    continue;
                }

                if (!labeledKeys.Add(ImageIdentity.FingerprintOf(line.SourceRef!)))
                {
                    // Ground Truth writes one line per object; a repeat is kept once, the first.
                    duplicates++;
                    continue;
                }

                if (choice.Prior is { } prior)
                {
                    (line.RoutingReason == LabelingConventions.AuditSampleReason ? audit : reviewed).Add(prior.Boxes, label.Boxes);
                    evidence.Add(line, prior, label, fallbackCreationDate);
                }

                writer.Write(line, label, datasetAttribute, human: true, fallbackCreationDate);
                labeled++;
                boxes += label.Boxes.Count;
            }
        }

        await buffered.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new JobShardResult
        {
            Lines = lines,
            Labeled = labeled,
            Unlabeled = unlabeled,
            DuplicateLines = duplicates,
            Boxes = boxes,
            Rejected = rejected,
            LabeledKeys = labeledKeys,
            Source = tally.ToReport(),
            Audit = audit.ToSummary(),
            Reviewed = reviewed.ToSummary(),
            Evidence = evidence.ToEvidence(),
        };
    }
}
