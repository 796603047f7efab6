namespace EdgeLabeling.Labeling;

/// <summary>
/// Named outcomes of ingesting one S3 record. They appear in logs and as the <c>Reason</c>
/// dimension of the <c>IngestRecords</c> metric, so the set is small and fixed.
/// </summary>
public static class IngestReasons
{
    // The pair is complete and waits for a job.
    public const string Registered = "registered";

    // Half of a pair arrived; the record is kept until the other half completes it.
    public const string ImageWithoutSidecar = "image-without-sidecar";
    public const string SidecarWithoutImage = "sidecar-without-image";

    // S3 delivers at least once: the same half was already registered.
    public const string DuplicateDelivery = "duplicate-delivery";

    // Dropped with a reason (not retried: retrying cannot fix them).
    public const string TestEvent = "s3-test-event";
    public const string UnknownEventType = "unknown-event-type";
    public const string MalformedJson = "malformed-json";
    public const string MissingKey = "missing-key";
    public const string MissingBucket = "missing-bucket";
    public const string UnexpectedBucket = "unexpected-bucket";
    public const string MalformedKeyEscape = "malformed-key-escape";
    public const string InvalidUtf8Key = "invalid-utf8-key";
    public const string UnsafeKey = "unsafe-key";
    public const string OutsideIncomingPrefix = "outside-incoming-prefix";
    public const string NotInKeyLayout = "not-in-key-layout";
    public const string InvalidDateInKey = "invalid-date-in-key";
    public const string OversizedSidecar = "oversized-sidecar";
    public const string MalformedSidecar = "malformed-sidecar";
    public const string SidecarNotFound = "sidecar-not-found";
    public const string SidecarImageMismatch = "sidecar-image-mismatch";

    // Set aside: Ground Truth would refuse the image (input-data-limits), so it is never sent to people.
    // The other half of the pair stays a half record and is reported by StaleHalfPairs.
    public const string ImageOverSizeLimit = "image-over-size-limit";
    public const string ImageOverPixelLimit = "image-over-pixel-limit";

    // Reported as a batch item failure so SQS redelivers (and eventually dead-letters) the message.
    public const string TransientFailure = "transient-failure";
}
