using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Pending;

/// <summary>An automatic label that could not go back to people, and why.</summary>
public sealed record RequeueRefusal(string SourceRef, string Reason);

/// <summary>What <see cref="ModelRequeue.RequeueAsync"/> did.</summary>
/// <param name="Model">The full SHA-256 the prefix resolved to.</param>
/// <param name="AutoLabels">Automatic labels of that model in the dataset that no person has answered.</param>
/// <param name="Requeued">Items put into the pending pool by this run.</param>
/// <param name="AlreadyQueued">Items already in the pending store (an earlier run, or the image's own review); not counted again.</param>
/// <param name="Refused">Labels that could not go to people, each with the reason.</param>
public sealed record RequeueResult(string Model, int AutoLabels, int Requeued, int AlreadyQueued, IReadOnlyList<RequeueRefusal> Refused);

/// <summary>
/// Sends the automatic labels of one model version back to people: a bad release is traced through the dataset's
/// provenance (<c>edgelabel-provenance.model-sha256</c> on every line) and each of its auto-labeled images becomes a
/// pending item with the model's boxes as the pre-annotation, so the next batch asks people to adjust them and the next
/// merge replaces the automatic label with theirs. An auto-labeled image lives under <c>auto-labels/{thing}/images/</c>
/// (outside the ingest's prefix); it is copied to its <c>incoming/</c> key, the only prefix the labeling role may read.
/// Idempotent: an image already in the pending store (any status) is not registered again.
/// </summary>
public sealed class ModelRequeue(IObjectStore store, IPendingStore pending, LabelingOptions options, TimeProvider time)
{
    /// <summary>The reason pending items made here carry (shown to reviewers and kept in the dataset's provenance).</summary>
    public const string Reason = "model-requeue";

    public async Task<RequeueResult> RequeueAsync(string modelShaPrefix, int max, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelShaPrefix);
        if (modelShaPrefix.Length < 8 || !modelShaPrefix.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"--model-sha '{modelShaPrefix}' must be at least 8 hex digits of the model's SHA-256");
        }

        var attr = options.LabelAttribute;
        var indexKey = DatasetKeys.IndexKey(attr);
        var indexBytes = await store.ReadBytesAsync(options.DataBucket, indexKey, cancellationToken).ConfigureAwait(false)
            ?? throw new FileNotFoundException($"no dataset index at s3://{options.DataBucket}/{indexKey}: nothing has been merged for label attribute '{attr}'");
        var index = JsonSerializer.Deserialize(indexBytes, DatasetIndexJsonContext.Default.DatasetIndex)
            ?? throw new JsonException($"s3://{options.DataBucket}/{indexKey} is not a dataset index");

        // Pass 1 over every merged job: images people answered (in any job) are not re-reviewed; the rest of the
        // model's automatic labels are collected.
        var human = new HashSet<string>(StringComparer.Ordinal);
        var candidates = new Dictionary<string, ManifestLine>(StringComparer.Ordinal);
        var models = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var refused = new List<RequeueRefusal>();
        foreach (var shard in index.Shards.OrderBy(s => s.ShardKey, StringComparer.Ordinal))
        {
            await using var stream = await store.OpenReadAsync(options.DataBucket, shard.ShardKey, cancellationToken).ConfigureAwait(false);
            if (stream is null)
            {
                refused.Add(new RequeueRefusal($"s3://{options.DataBucket}/{shard.ShardKey}", "the index lists this merged job, but its dataset file is missing; its labels were not checked"));
                continue;
            }

            await foreach (var (_, bytes) in Utf8LineReader.ReadAsync(stream, cancellationToken).ConfigureAwait(false))
            {
                var line = ManifestLineParser.Parse(bytes.Span);
                if (line.SourceRef is not { } sourceRef)
                {
                    continue;
                }

                if (line.ProvenanceString("source") != "model")
                {
                    human.Add(sourceRef);
                    continue;
                }

                if (line.ProvenanceString("model-sha256") is { } sha && sha.StartsWith(modelShaPrefix, StringComparison.OrdinalIgnoreCase))
                {
                    models.Add(sha);
                    candidates.TryAdd(sourceRef, line);
                }
            }
        }

        if (models.Count > 1)
        {
            throw new ArgumentException($"--model-sha '{modelShaPrefix}' matches {models.Count} models ({string.Join(", ", models.Order(StringComparer.Ordinal))}); give more digits");
        }

        var model = models.SingleOrDefault() ?? throw new ArgumentException($"no automatic label of a model starting with '{modelShaPrefix}' in the dataset ({index.Shards.Count} merged jobs)");
        var open = candidates.Where(c => !human.Contains(c.Key)).OrderBy(c => c.Key, StringComparer.Ordinal).ToList();
        int requeued = 0, already = 0;
        foreach (var (sourceRef, line) in open)
        {
            if (requeued >= max)
            {
                refused.Add(new RequeueRefusal(sourceRef, $"not attempted: --max {max} reached (run again for the rest)"));
                continue;
            }

            var outcome = await RequeueOneAsync(sourceRef, line, model, cancellationToken).ConfigureAwait(false);
            switch (outcome)
            {
                case null:
                    requeued++;
                    break;
                case "":
                    already++;
                    break;
                default:
                    refused.Add(new RequeueRefusal(sourceRef, outcome));
                    break;
            }
        }

        return new RequeueResult(model, open.Count, requeued, already, refused);
    }

    /// <summary>Null when registered now, "" when already in the store, otherwise why it cannot go to people.</summary>
    private async Task<string?> RequeueOneAsync(string sourceRef, ManifestLine line, string model, CancellationToken ct)
    {
        if (!sourceRef.StartsWith("s3://", StringComparison.Ordinal))
        {
            return "the image was never uploaded (its source-ref is on the device, not in a bucket)";
        }

        var slash = sourceRef.IndexOf('/', 5);
        var (bucket, key) = slash < 0 ? (sourceRef[5..], "") : (sourceRef[5..slash], sourceRef[(slash + 1)..]);
        if (IncomingKeyOf(key) is not { } incomingKey)
        {
            return $"key '{key}' is neither an auto-labeled image (auto-labels/<thing>/images/...) nor an incoming image";
        }

        if (!ObjectKeyLayout.TryParse(incomingKey, out var parsed, out var why) || parsed.IsSidecar)
        {
            return $"key '{incomingKey}' is not an incoming image key ({(parsed.IsSidecar ? "a sidecar" : why)})";
        }

        var thing = parsed.ThingName;

        if (await pending.GetItemAsync(incomingKey, ct).ConfigureAwait(false) is not null)
        {
            return "";
        }

        var label = line.Find(options.LabelAttribute);
        if (label is not { IsUsableBoxLabel: true, Size: { } size })
        {
            return $"the dataset line has no usable '{options.LabelAttribute}' box label to show people";
        }

        if (incomingKey != key)
        {
            var bytes = await store.ReadBytesAsync(bucket, key, ct).ConfigureAwait(false);
            if (bytes is null)
            {
                return "the image was never uploaded (auto-labeled images are uploaded only with UploadAutoLabeledImages=true)";
            }

            var contentType = parsed.Extension == "png" ? "image/png" : "image/jpeg";
            await store.PutBytesAsync(bucket, incomingKey, bytes, contentType, null, ct).ConfigureAwait(false);
        }
        else if (await store.HeadAsync(bucket, key, ct).ConfigureAwait(false) is null)
        {
            return "the image is no longer in the bucket";
        }

        var payload = new PendingPayload
        {
            ImageSize = new ImageSizeDto { Width = size.Width, Height = size.Height, Depth = size.Depth > 0 ? size.Depth : 3 },
            ClassNames = ClassNamesOf(label),
            PreAnnotations = label.Boxes.Select(PreAnnotation.From).ToList(),
            ModelSha256 = model,
            Reason = Reason,
        };
        var now = time.GetUtcNow();
        await pending.RegisterImageAsync(new ImageArrival(incomingKey, bucket, thing, now), ct).ConfigureAwait(false);
        await pending.RegisterSidecarAsync(new SidecarArrival(incomingKey, bucket, thing, payload, now), ct).ConfigureAwait(false);
        return null;
    }

    /// <summary>incoming/{thing}/… for auto-labels/{thing}/images/… (the layout <see cref="LabelingConventions.AutoLabeledImageKey"/> makes); an incoming key stays.</summary>
    public static string? IncomingKeyOf(string key)
    {
        if (key.StartsWith(ObjectKeyLayout.IncomingPrefix, StringComparison.Ordinal))
        {
            return key;
        }

        if (!key.StartsWith(LabelingConventions.AutoLabelsPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = key[LabelingConventions.AutoLabelsPrefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || !rest[(slash + 1)..].StartsWith("images/", StringComparison.Ordinal))
        {
            return null;
        }

        return ObjectKeyLayout.IncomingPrefix + rest[..slash] + "/" + rest[(slash + 1 + "images/".Length)..];
    }

    private List<string> ClassNamesOf(ManifestAttribute label)
    {
        var top = Math.Max(label.ClassMap.Count == 0 ? -1 : label.ClassMap.Keys.Max(), label.Boxes.Count == 0 ? -1 : label.Boxes.Max(b => b.ClassId));
        var names = new List<string>(top + 1);
        for (var i = 0; i <= top; i++)
        {
            names.Add(label.ClassMap.TryGetValue(i, out var n) ? n : i < options.ClassNames.Count ? options.ClassNames[i] : $"class-{i}");
        }

        return names;
    }
}
