using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EdgeLabeling.Labeling.Events;

namespace EdgeLabeling.Simulation.LocalCloud;

/// <summary>An object that landed in the incoming bucket, as the S3 notification describes it.</summary>
public sealed record CreatedObject(string Bucket, string Key, long Size, string ETag, DateTimeOffset Time);

/// <summary>
/// Builds the event payloads AWS would hand the Lambdas, field for field: S3 <c>ObjectCreated:Put</c>
/// notifications (keys form-URL-encoded, sequencer, size, eTag) inside SQS messages, EventBridge scheduled
/// events for the batcher. Built as plain JSON rather than from the handlers' own DTOs so that a field the
/// handlers misread would show up here instead of being agreed on by both sides.
/// </summary>
/// <param name="region">Region of the queue, bucket and rule ARNs.</param>
/// <param name="accountId">Account of the ARNs.</param>
/// <param name="uploaderThingName">IoT thing whose role credentials made the Put (the notification's principal).</param>
public sealed class AwsEventFactory(string region, string accountId, string uploaderThingName = "edge-device")
{
    private long _sequence = 0x0055AED6DCD90281;

    public string QueueArn => QueueArnOf("edgelabeling-ingest");

    private string QueueArnOf(string queue) => $"arn:aws:sqs:{region}:{accountId}:{queue}";

    /// <summary>One SQS message per notification (S3 sends one record per message), grouped into Lambda batches.</summary>
    public IEnumerable<JsonObject> SqsBatches(IReadOnlyList<CreatedObject> objects, int batchSize = 10)
    {
        for (var i = 0; i < objects.Count; i += batchSize)
        {
            var records = new JsonArray();
            foreach (var o in objects.Skip(i).Take(batchSize))
            {
                records.Add(SqsMessage(S3Notification(o).ToJsonString(), o.Time));
            }

            yield return new JsonObject { ["Records"] = records };
        }
    }

    /// <summary>An SQS message as the event source mapping delivers it; the body is the notification as a string.</summary>
    public JsonObject SqsMessage(string body, DateTimeOffset sent, int receiveCount = 1, string queue = "edgelabeling-ingest")
    {
        var sentMs = sent.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        return new JsonObject
        {
            ["messageId"] = Guid.NewGuid().ToString(),
            ["receiptHandle"] = "AQEB" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
            ["body"] = body,
            ["attributes"] = new JsonObject
            {
                ["ApproximateReceiveCount"] = receiveCount.ToString(CultureInfo.InvariantCulture),
                ["SentTimestamp"] = sentMs,
                ["SenderId"] = "AIDAJHIPRHEMV73VRJEBU",
                ["ApproximateFirstReceiveTimestamp"] = sentMs,
            },
            ["messageAttributes"] = new JsonObject(),
            ["md5OfBody"] = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(body))),
            ["eventSource"] = "aws:sqs",
            ["eventSourceARN"] = QueueArnOf(queue),
            ["awsRegion"] = region,
        };
    }

    /// <summary>The S3 event notification for one Put (event version 2.1).</summary>
    public JsonObject S3Notification(CreatedObject o)
    {
        var sequencer = Interlocked.Increment(ref _sequence).ToString("X16", CultureInfo.InvariantCulture);
        return new JsonObject
        {
            ["Records"] = new JsonArray(new JsonObject
            {
                ["eventVersion"] = "2.1",
                ["eventSource"] = "aws:s3",
                ["awsRegion"] = region,
                ["eventTime"] = o.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["eventName"] = "ObjectCreated:Put",
                ["userIdentity"] = new JsonObject { ["principalId"] = "AWS:AROAEDGEDEVICEROLE:" + uploaderThingName },
                ["requestParameters"] = new JsonObject { ["sourceIPAddress"] = "198.51.100.23" },
                ["responseElements"] = new JsonObject
                {
                    ["x-amz-request-id"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)),
                    ["x-amz-id-2"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
                },
                ["s3"] = new JsonObject
                {
                    ["s3SchemaVersion"] = "1.0",
                    ["configurationId"] = "edgelabeling-incoming",
                    ["bucket"] = new JsonObject
                    {
                        ["name"] = o.Bucket,
                        ["ownerIdentity"] = new JsonObject { ["principalId"] = "A3NL1KOZZKExample" },
                        ["arn"] = "arn:aws:s3:::" + o.Bucket,
                    },
                    ["object"] = new JsonObject
                    {
                        // The one shared piece: the encoder sits beside the handlers' decoder and is pinned
                        // by known-answer tests of S3's form encoding, so sharing it cannot hide a misreading.
                        ["key"] = S3KeyDecoder.Encode(o.Key),
                        ["size"] = o.Size,
                        ["eTag"] = o.ETag,
                        ["sequencer"] = sequencer,
                    },
                },
            }),
        };
    }

    /// <summary>The EventBridge schedule's event ("rate(15 minutes)" rule) that wakes the batcher.</summary>
    public JsonObject ScheduledEvent(DateTimeOffset time) => new()
    {
        ["version"] = "0",
        ["id"] = Guid.NewGuid().ToString(),
        ["detail-type"] = "Scheduled Event",
        ["source"] = "aws.events",
        ["account"] = accountId,
        ["time"] = time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        ["region"] = region,
        ["resources"] = new JsonArray($"arn:aws:events:{region}:{accountId}:rule/edgelabeling-batch-schedule"),
        ["detail"] = new JsonObject(),
    };
}
