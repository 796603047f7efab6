using EdgeLabeling.Contracts;

namespace EdgeLabeling.Labeling.Pending;

/// <summary>
/// The pending items: which uploaded images wait for people, and which batch holds them.
/// <para>
/// Semantics every adapter keeps (the SQLite and DynamoDB adapters are tested for them):
/// <list type="bullet">
/// <item>An image becomes <see cref="PendingStatus.Pending"/> only when both its image and its sidecar
/// were seen, in either order; registering the same half twice changes nothing (idempotent ingest).</item>
/// <item><see cref="ClaimAsync"/> moves items pending → claimed(batch) one by one with a conditional
/// write, so two batchers racing can never put one item in two batches, and an item claimed by nobody
/// stays pending (none lost).</item>
/// <item>Items only leave a batch through <see cref="ReleaseAsync"/> (back to pending) or
/// <see cref="MarkDoneAsync"/>, both conditional on the item still belonging to that batch, so a
/// duplicate completion event changes nothing.</item>
/// </list>
/// </para>
/// </summary>
public interface IPendingItemStore
{
    /// <summary>Records that the image object exists. Completes the pair when the sidecar was seen first.</summary>
    Task<RegisterOutcome> RegisterImageAsync(ImageArrival arrival, CancellationToken cancellationToken = default);

    /// <summary>Records the parsed sidecar. Completes the pair when the image was seen first.</summary>
    Task<RegisterOutcome> RegisterSidecarAsync(SidecarArrival arrival, CancellationToken cancellationToken = default);

    /// <summary>Reads one item, whatever its state; null when unknown.</summary>
    Task<PendingItem?> GetItemAsync(string imageKey, CancellationToken cancellationToken = default);

    /// <summary>How many items are pending and since when the oldest one waits.</summary>
    Task<PendingSummary> GetPendingSummaryAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Since when the longest-waiting <see cref="PendingStatus.Pending"/> item waits for people
    /// (<see cref="PendingItem.PendingSince"/>: the moment both halves were seen); null when nothing is pending.
    /// Claimed, done and half items do not count. An item released back to pending after a failed or
    /// abandoned job keeps its <b>original</b> time, so a job that fails over and over cannot hide how
    /// long its images have really waited. Adapters answer from an index (one seek, never a scan),
    /// because every batcher run asks.
    /// </summary>
    Task<DateTimeOffset?> GetOldestPendingSinceAsync(CancellationToken cancellationToken = default);

    /// <summary>Half pairs (only image or only sidecar) first seen before <paramref name="olderThan"/>.</summary>
    Task<IReadOnlyList<PendingItem>> ListHalfPairsAsync(DateTimeOffset olderThan, int max, CancellationToken cancellationToken = default);

    /// <summary>Claims up to <paramref name="max"/> pending items, oldest first, for <paramref name="batchId"/>. Returns only the items this call won.</summary>
    Task<IReadOnlyList<PendingItem>> ClaimAsync(string batchId, int max, CancellationToken cancellationToken = default);

    /// <summary>Returns items of a batch to pending (keeping their original waiting time). Returns how many moved.</summary>
    Task<int> ReleaseAsync(string batchId, IEnumerable<string> imageKeys, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns items that came back from a job without a label, conditional on them still belonging to the
    /// batch like <see cref="ReleaseAsync"/>. Each keeps <paramref name="reason"/> as its last return reason.
    /// When <paramref name="countsAgainstItem"/>, the item's return count grows by one, and an item whose
    /// count reaches <paramref name="setAsideAfterReturns"/> (0: never) is set aside
    /// (<see cref="PendingStatus.SetAside"/>, never claimed again until an operator re-queues it) instead of
    /// going back to pending.
    /// </summary>
    Task<ReturnOutcome> ReturnUnlabeledAsync(string batchId, IEnumerable<string> imageKeys, string reason, bool countsAgainstItem, int setAsideAfterReturns, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Items set aside, longest set aside first (up to <paramref name="max"/>).</summary>
    Task<IReadOnlyList<PendingItem>> ListSetAsideAsync(int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// Puts set-aside items back into the pending pool with their return count reset (their original
    /// waiting time is kept). Keys that are not set aside are left alone. Returns how many moved.
    /// </summary>
    Task<int> RequeueSetAsideAsync(IEnumerable<string> imageKeys, CancellationToken cancellationToken = default);

    /// <summary>Marks items of a batch as labeled. Returns how many moved.</summary>
    Task<int> MarkDoneAsync(string batchId, IEnumerable<string> imageKeys, CancellationToken cancellationToken = default);

    /// <summary>Items currently assigned to a batch (claimed or done).</summary>
    Task<IReadOnlyList<PendingItem>> GetBatchItemsAsync(string batchId, CancellationToken cancellationToken = default);
}

public enum PendingStatus
{
    /// <summary>Only the image or only the sidecar has been seen.</summary>
    Half,
    Pending,
    Claimed,
    Done,

    /// <summary>Came back unlabeled too often; waits for an operator to re-queue it.</summary>
    SetAside,
}

public enum RegisterOutcome
{
    /// <summary>This call stored the first half of the pair.</summary>
    HalfStored,

    /// <summary>This call completed the pair: the item is now pending.</summary>
    Completed,

    /// <summary>This half was already registered; nothing changed.</summary>
    Duplicate,
}

/// <summary>An image object seen in the incoming bucket.</summary>
public sealed record ImageArrival(string ImageKey, string Bucket, string ThingName, DateTimeOffset SeenAt);

/// <summary>A valid sidecar seen in the incoming bucket, reduced to what a job needs.</summary>
public sealed record SidecarArrival(string ImageKey, string Bucket, string ThingName, PendingPayload Payload, DateTimeOffset SeenAt);

/// <summary>What the input manifest line needs from the sidecar: the image size and the model's boxes.</summary>
public sealed record PendingPayload
{
    [System.Text.Json.Serialization.JsonPropertyName("image-size")] public required ImageSizeDto ImageSize { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("class-names")] public required IReadOnlyList<string> ClassNames { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("pre-annotations")] public required IReadOnlyList<PreAnnotation> PreAnnotations { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("model-sha256")] public string? ModelSha256 { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("reason")] public string? Reason { get; init; }

    public static PendingPayload From(ReviewRecord r) => new()
    {
        // A sidecar without "depth" deserializes to 0 (init-only defaults are not kept by System.Text.Json); images are RGB.
        ImageSize = r.ImageSize.Depth > 0 ? r.ImageSize : new ImageSizeDto { Width = r.ImageSize.Width, Height = r.ImageSize.Height, Depth = 3 },
        ClassNames = r.ClassNames,
        PreAnnotations = r.PreAnnotations,
        ModelSha256 = r.Provenance.ModelSha256,
        Reason = r.Reason,
    };
}

/// <summary>One image as the store knows it.</summary>
public sealed record PendingItem(
    string ImageKey,
    string Bucket,
    string ThingName,
    PendingStatus Status,
    bool HasImage,
    bool HasSidecar,
    string? BatchId,
    DateTimeOffset FirstSeen,
    DateTimeOffset? PendingSince,
    PendingPayload? Payload,
    int ReturnCount = 0,
    string? LastReturnReason = null,
    DateTimeOffset? SetAsideAt = null)
{
    /// <summary>The <c>source-ref</c> Ground Truth reads the image from.</summary>
    public string SourceRef => $"s3://{Bucket}/{ImageKey}";
}

public sealed record PendingSummary(long Count, DateTimeOffset? OldestPendingSince);

/// <summary>How many items left a batch unlabeled (<see cref="Returned"/>) and how many of those were set aside instead of going back to pending.</summary>
public readonly record struct ReturnOutcome(int Returned, int SetAside);
