using System.Globalization;
using System.Text.Json.Nodes;

namespace EdgeLabeling.Simulation.LocalCloud;

/// <summary>What an SQS event source mapping did with a run of batches.</summary>
public sealed record SqsDeliveryReport(int Messages, int Invocations, int Redelivered, int DeadLettered);

/// <summary>
/// The Lambda SQS event source mapping with partial batch responses (<c>ReportBatchItemFailures</c>): each
/// batch is handed to the function; the messages it names in <c>batchItemFailures</c> become visible again and
/// are delivered again with <c>ApproximateReceiveCount</c> one higher, until the queue's
/// <see cref="MaxReceiveCount"/> moves them to the dead-letter queue.
/// </summary>
public sealed class SqsEventSource(Func<Stream, Task<Stream>> handler, int maxReceiveCount = 3)
{
    /// <summary>Receives after which a failed message goes to the dead-letter queue (the redrive policy's maxReceiveCount).</summary>
    public int MaxReceiveCount { get; } = maxReceiveCount >= 1 ? maxReceiveCount : throw new ArgumentOutOfRangeException(nameof(maxReceiveCount), maxReceiveCount, "must be at least 1");

    /// <summary>
    /// Delivers each batch (an SQS event <c>{"Records": [...]}</c>) until every message succeeded or was dead-lettered;
    /// <paramref name="afterBatch"/> runs after each batch is settled (the pipeline wakes the batcher there).
    /// </summary>
    public async Task<SqsDeliveryReport> DeliverAsync(IEnumerable<JsonObject> batches, Func<int, Task>? afterBatch = null)
    {
        ArgumentNullException.ThrowIfNull(batches);
        int messages = 0, invocations = 0, redelivered = 0, deadLettered = 0;
        foreach (var sqsEvent in batches)
        {
            messages += sqsEvent["Records"]!.AsArray().Count;
            var toSend = sqsEvent;
            for (var receive = 1; ; receive++)
            {
                invocations++;
                var response = await LocalLambda.InvokeAsync(handler, toSend).ConfigureAwait(false);
                var failed = (response["batchItemFailures"] as JsonArray ?? []).Select(f => f?["itemIdentifier"]?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.Ordinal);
                if (failed.Count == 0)
                {
                    break;
                }

                if (receive >= MaxReceiveCount)
                {
                    deadLettered += failed.Count;
                    break;
                }

                redelivered += failed.Count;
                var again = new JsonArray();
                foreach (var m in toSend["Records"]!.AsArray().Where(m => failed.Contains(m!["messageId"]!.GetValue<string>())))
                {
                    var copy = m!.DeepClone().AsObject();
                    copy["attributes"]!["ApproximateReceiveCount"] = (receive + 1).ToString(CultureInfo.InvariantCulture);
                    again.Add(copy);
                }

                toSend = new JsonObject { ["Records"] = again };
            }

            if (afterBatch is not null)
            {
                await afterBatch(messages).ConfigureAwait(false);
            }
        }

        return new SqsDeliveryReport(messages, invocations, redelivered, deadLettered);
    }
}
