namespace EdgeLabeling.Labeling.Fleet;

/// <summary>Why a heartbeat object was accepted or refused (logs and the Reason dimension of HeartbeatsRefused).</summary>
public static class HeartbeatReasons
{
    public const string Accepted = "accepted";
    public const string Stale = "older-than-stored";
    public const string TestEvent = "s3-test-event";
    public const string UnknownEventType = "unknown-event-type";
    public const string MissingKey = "missing-key";
    public const string UnexpectedBucket = "unexpected-bucket";
    public const string UndecodableKey = "undecodable-key";
    public const string NotAHeartbeatKey = "not-a-heartbeat-key";
    public const string ObjectMissing = "object-missing";
    public const string Oversized = "oversized";
    public const string MalformedGzip = "malformed-gzip";
    public const string MalformedJson = "malformed-json";
    public const string UnknownSchema = "unknown-schema";
    public const string ThingMismatch = "thing-mismatch";
    public const string ImplausibleValues = "implausible-values";
    public const string SentInFuture = "sent-time-in-future";
}
