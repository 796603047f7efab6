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
/// Sends the automatic labels of one model version back to people: a bad release is traced through the provenance every
/// automatic label carries (<c>edgelabel-provenance.model-sha256</c> on the edge's auto-label lines, which the dataset
/// export merges under the human labels), and each of its auto-labeled images that no person has answered becomes a
/// pending item with the model's boxes as the pre-annotation, so the next batch asks people to adjust them and the next
/// export takes their label over the model's. An auto-labeled image lives under <c>auto-labels/{thing}/images/</c>
/// (outside the ingest's prefix); it is copied to its <c>incoming/</c> key, the only prefix the labeling role may read.
/// Idempotent: an image already in the pending store (any status) is not registered again.
/// </summary>
public sealed class ModelRequeue(IObjectStore store, IPendingItemStore pending, MergeOptions merge, LabelingOptions options, TimeProvider time)
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

        var attr = merge.DatasetAttribute;

        // The same sources the dataset export reads: merged job shards hold what people answered, the auto-label
        // manifests what the models labeled alone. An image people answered (in any job) is not re-reviewed.
        var human = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var line in LinesAsync(merge.DataBucket, DatasetKeys.JobShardPrefix(attr), cancellationToken).ConfigureAwait(false))
        {
            // A job shard holds only the labels people gave (DatasetBuilder's human pass).
            if (line.SourceRef is { } sourceRef)
            {
                human.Add(sourceRef);
            }
        }

        var candidates = new Dictionary<string, (ManifestLine Line, ManifestAttribute Label)>(StringComparer.Ordinal);
        var models = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var refused = new List<RequeueRefusal>();
        foreach (var bucket in merge.AutoLabelBuckets.Count > 0 ? merge.AutoLabelBuckets : [merge.DataBucket])
        {
            await foreach (var line in LinesAsync(bucket, LabelingConventions.AutoLabelsPrefix, cancellationToken).ConfigureAwait(false))
            {
                if (line.SourceRef is not { } sourceRef || line.ProvenanceString("model-sha256") is not { } sha
                    || !sha.StartsWith(modelShaPrefix, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                models.Add(sha);
                if (LabelSelection.Choose(line, attr, LabelRole.Model) is { Label: { } label })
                {
                    candidates.TryAdd(sourceRef, (line, label));
                }
                else
                {
                    refused.Add(new RequeueRefusal(sourceRef, $"the auto-label line has no usable '{attr}' box label to show people"));
                }
            }
        }

        if (models.Count > 1)
        {
            throw new ArgumentException($"--model-sha '{modelShaPrefix}' matches {models.Count} models ({string.Join(", ", models.Order(StringComparer.Ordinal))}); give more digits");
        }

        var model = models.SingleOrDefault() ?? throw new ArgumentException($"no automatic label of a model starting with '{modelShaPrefix}' under {LabelingConventions.AutoLabelsPrefix} in {string.Join(", ", merge.AutoLabelBuckets.Count > 0 ? merge.AutoLabelBuckets : [merge.DataBucket])}");
        var open = candidates.Where(c => !human.Contains(c.Key)).OrderBy(c => c.Key, StringComparer.Ordinal).ToList();
        int requeued = 0, already = 0;
        foreach (var (sourceRef, (_, label)) in open)
        {
            if (requeued >= max)
            {
                refused.Add(new RequeueRefusal(sourceRef, $"not attempted: --max {max} reached (run again for the rest)"));
                continue;
            }

            var outcome = await RequeueOneAsync(sourceRef, label, model, cancellationToken).ConfigureAwait(false);
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
    private async Task<string?> RequeueOneAsync(string sourceRef, ManifestAttribute label, string model, CancellationToken ct)
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

        if (label.Size is not { } size)
        {
            return "the auto-label line has no image size";
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

    private async IAsyncEnumerable<ManifestLine> LinesAsync(string bucket, string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var keys = new List<string>();
        await foreach (var o in store.ListAsync(bucket, prefix, ct).ConfigureAwait(false))
        {
            if (o.Key.EndsWith(".manifest", StringComparison.Ordinal))
            {
                keys.Add(o.Key);
            }
        }

        keys.Sort(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            await using var stream = await store.OpenReadAsync(bucket, key, ct).ConfigureAwait(false);
            if (stream is null)
            {
                continue; // deleted between the listing and the read
            }

            await foreach (var (_, bytes) in Utf8LineReader.ReadAsync(stream, ct).ConfigureAwait(false))
            {
                yield return ManifestLineParser.Parse(bytes.Span);
            }
        }
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
        // The line's class-map names only the classes in its boxes; the configured list fills the other ids.
        var count = Math.Max(top + 1, options.ClassNames.Count);
        var names = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            names.Add(label.ClassMap.TryGetValue(i, out var n) ? n : i < options.ClassNames.Count ? options.ClassNames[i] : $"class-{i}");
        }

        return names;
    }
}
