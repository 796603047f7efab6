namespace EdgeLabeling.Edge.Queue;

/// <summary>Upload order: lower values leave the site first.</summary>
public enum QueuePriority
{
    /// <summary>Review and audit images with their sidecars: what people are waiting for. Never evicted.</summary>
    Review = 0,

    /// <summary>Auto-label records (Ground Truth output lines), uploaded in JSON-lines batches.</summary>
    AutoLabelRecord = 1,

    /// <summary>The auto-labeled images themselves, uploaded only when configured (and inside the window).</summary>
    AutoLabeledImage = 2,
}

/// <summary>One thing to make durable. Images carry bytes; records carry only a payload.</summary>
/// <param name="Priority">Upload priority.</param>
/// <param name="ObjectKey">Destination key of the image, or for a record the image key it describes (unique per image).</param>
/// <param name="Sha256">Lower-case hex SHA-256 of <paramref name="ImageBytes"/> (records: of the image described).</param>
/// <param name="ContentType">MIME type of the image.</param>
/// <param name="ImageBytes">Image bytes written to a blob file; empty for records.</param>
/// <param name="Payload">Sidecar JSON, gzip-compressed (review), or the plain auto-label line (record); empty for auto-labeled images.</param>
public sealed record OutboxEntry(
    QueuePriority Priority,
    string ObjectKey,
    string Sha256,
    string ContentType,
    ReadOnlyMemory<byte> ImageBytes,
    ReadOnlyMemory<byte> Payload)
{
    internal string UniqueId => (int)Priority + ":" + ObjectKey;

    internal long DiskBytes => ImageBytes.Length + Payload.Length;
}

/// <summary>A queued item read back for upload.</summary>
/// <param name="Attempts">How often the store refused this item for reasons of its own (see <see cref="Outbox.Defer"/>).</param>
public sealed record OutboxItem(
    long Id,
    QueuePriority Priority,
    string ObjectKey,
    string Sha256,
    string ContentType,
    string? BlobPath,
    byte[] Payload,
    bool ImageDone,
    long Bytes,
    DateTimeOffset EnqueuedUtc,
    int Attempts = 0);

/// <summary>
/// Auto-label records frozen into one upload object; its content never changes, so a retry rewrites the same key.
/// <see cref="Content"/> is the gzip of the JSON lines (batches frozen by older versions may be plain JSON lines).
/// </summary>
/// <param name="Fresh">True when frozen by this call; false when an earlier (possibly crashed) attempt froze it.</param>
public sealed record LabelBatch(long Id, string ObjectKey, byte[] Content, int Records, bool Fresh = false);

/// <summary>Result of offering one image's entries to the queue.</summary>
public enum EnqueueStatus
{
    /// <summary>Durable: the caller may now delete the input file.</summary>
    Accepted,

    /// <summary>Already queued earlier (same content and kind): nothing new written, also safe to delete the input.</summary>
    AlreadyQueued,

    /// <summary>No room under the disk quota even after the allowed evictions: keep the input and retry later.</summary>
    Backpressure,
}

/// <summary>Outcome of <see cref="Outbox.Enqueue"/>.</summary>
public sealed record EnqueueResult(EnqueueStatus Status, int Evicted);

/// <summary>What start-up recovery found and fixed.</summary>
public sealed record RecoveryReport(int TempFilesRemoved, int OrphanBlobsRemoved, IReadOnlyList<string> RowsWithMissingBlob, int BatchesResumed);

/// <summary>Depth of one priority lane.</summary>
public sealed record LaneStats(int Items, long Bytes);

/// <summary>A consistent snapshot of the queue and its persistent counters.</summary>
/// <param name="DeferredItems">Queued items the store refused at least once for reasons of their own (see <see cref="Outbox.Defer"/>).</param>
/// <param name="LastDeferralError">The most recent such refusal, for the status file.</param>
public sealed record OutboxStats(
    IReadOnlyDictionary<QueuePriority, LaneStats> Lanes,
    long UsedBytes,
    long QuotaBytes,
    IReadOnlyDictionary<string, long> Counters,
    int DeferredItems = 0,
    string? LastDeferralError = null)
{
    public long Counter(string name) => Counters.TryGetValue(name, out var v) ? v : 0;
}
