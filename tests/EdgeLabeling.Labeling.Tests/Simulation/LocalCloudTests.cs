using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Simulation.LocalCloud;

namespace EdgeLabeling.Labeling.Tests.Simulation;

/// <summary>The local AWS emulation (events, SQS event source, clock), checked against the handlers' own reading of the events.</summary>
public sealed class LocalCloudTests
{
    [Theory]
    [InlineData("incoming/site-a/2026/11/26/abc.jpg", "incoming/site-a/2026/11/26/abc.jpg")]
    [InlineData("incoming/red flower.jpg", "incoming/red+flower.jpg")]
    [InlineData("incoming/a+b.jpg", "incoming/a%2Bb.jpg")]
    [InlineData("incoming/größe.jpg", "incoming/gr%C3%B6%C3%9Fe.jpg")]
    public void S3Notification_KeyWithSpacesPlusAndUtf8_EncodesAsS3DoesAndDecodesBack(string key, string expected)
    {
        var notification = new AwsEventFactory("us-east-1", "123456789012", "site-a").S3Notification(new CreatedObject("bucket-in", key, 1, "0123456789abcdef0123456789abcdef", DateTimeOffset.UnixEpoch));
        var encoded = notification["Records"]![0]!["s3"]!["object"]!["key"]!.GetValue<string>();

        Assert.Equal(expected, encoded);
        Assert.True(S3KeyDecoder.TryDecode(encoded, out var decoded, out var reason), reason);
        Assert.Equal(key, decoded);
    }

    [Fact]
    public void SqsBatches_WithTwentyFiveObjects_MakesBatchesOfTenWithOneS3RecordPerMessage()
    {
        var factory = new AwsEventFactory("us-east-1", "123456789012", "site-a");
        var objects = Enumerable.Range(0, 25).Select(i => new CreatedObject("bucket-in", $"incoming/t/2026/11/26/{i:x64}.jpg", 1000 + i, "0123456789abcdef0123456789abcdef", DateTimeOffset.UnixEpoch)).ToList();

        var batches = factory.SqsBatches(objects).ToList();

        Assert.Equal([10, 10, 5], batches.Select(b => b["Records"]!.AsArray().Count));
        var sqs = JsonSerializer.Deserialize(batches[0].ToJsonString(), LabelingJsonContext.Default.SqsEvent)!;
        var body = JsonSerializer.Deserialize(sqs.Records![0].Body!, LabelingJsonContext.Default.S3EventNotification)!;
        var record = Assert.Single(body.Records!);
        Assert.Equal("ObjectCreated:Put", record.EventName);
        Assert.Equal("bucket-in", record.S3!.Bucket!.Name);
        Assert.Equal(1000, record.S3.Object!.Size);
        Assert.Equal(16, record.S3.Object.Sequencer!.Length);
        Assert.Equal("aws:sqs", sqs.Records[0].EventSource);
        var sequencers = batches.SelectMany(b => b["Records"]!.AsArray())
            .Select(m => JsonSerializer.Deserialize(m!["body"]!.GetValue<string>(), LabelingJsonContext.Default.S3EventNotification)!.Records![0].S3!.Object!.Sequencer!)
            .ToList();
        Assert.Equal(sequencers.Order(StringComparer.Ordinal), sequencers);
    }

    [Fact]
    public void ScheduledEvent_ReadAsBatchTrigger_IsAScheduledEventWithoutFlush()
    {
        var json = new AwsEventFactory("eu-west-1", "123456789012", "site-a").ScheduledEvent(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero)).ToJsonString();

        var trigger = JsonSerializer.Deserialize(json, LabelingJsonContext.Default.BatchTrigger)!;

        Assert.Equal("Scheduled Event", trigger.DetailType);
        Assert.Equal("aws.events", trigger.Source);
        Assert.False(trigger.Flush);
        Assert.Null(trigger.Now);
    }

    [Fact]
    public void S3Notification_Principal_IsTheUploadingThingsRole()
    {
        var notification = new AwsEventFactory("us-east-1", "123456789012", "site-a").S3Notification(new CreatedObject("bucket-in", "incoming/a.jpg", 1, "0123456789abcdef0123456789abcdef", DateTimeOffset.UnixEpoch));

        var body = JsonSerializer.Deserialize(notification.ToJsonString(), LabelingJsonContext.Default.S3EventNotification)!;

        Assert.Equal("AWS:AROAEDGEDEVICEROLE:site-a", body.Records![0].UserIdentity!.PrincipalId);
    }

    [Fact]
    public async Task DeliverAsync_MessageFailingEveryTime_IsRedeliveredWithAHigherReceiveCountThenDeadLettered()
    {
        var factory = new AwsEventFactory("us-east-1", "123456789012", "site-a");
        var objects = Enumerable.Range(0, 3).Select(i => new CreatedObject("bucket-in", $"incoming/t/2026/11/26/{i:x64}.jpg", 10, "0123456789abcdef0123456789abcdef", DateTimeOffset.UnixEpoch)).ToList();
        var poison = (string?)null;
        var seen = new List<(string Id, string ReceiveCount)>();
        async Task<Stream> Handler(Stream input)
        {
            var sqs = (await JsonNode.ParseAsync(input))!["Records"]!.AsArray();
            poison ??= sqs[1]!["messageId"]!.GetValue<string>();
            seen.AddRange(sqs.Select(m => (m!["messageId"]!.GetValue<string>(), m["attributes"]!["ApproximateReceiveCount"]!.GetValue<string>())));
            var failures = sqs.Any(m => m!["messageId"]!.GetValue<string>() == poison) ? $$"""[{"itemIdentifier":"{{poison}}"}]""" : "[]";
            return new MemoryStream(Encoding.UTF8.GetBytes($$"""{"batchItemFailures":{{failures}}}"""));
        }

        var batches = 0;
        var report = await new SqsEventSource(Handler, maxReceiveCount: 3).DeliverAsync(factory.SqsBatches(objects), _ => { batches++; return Task.CompletedTask; });

        Assert.Equal(new SqsDeliveryReport(Messages: 3, Invocations: 3, Redelivered: 2, DeadLettered: 1), report);
        Assert.Equal(["1", "2", "3"], seen.Where(s => s.Id == poison).Select(s => s.ReceiveCount));
        Assert.Equal(5, seen.Count);
        Assert.Equal(1, batches);
    }

    [Fact]
    public async Task DeliverAsync_AllSucceed_InvokesOncePerBatch()
    {
        var factory = new AwsEventFactory("us-east-1", "123456789012", "site-a");
        var objects = Enumerable.Range(0, 12).Select(i => new CreatedObject("bucket-in", $"incoming/t/2026/11/26/{i:x64}.jpg", 10, "0123456789abcdef0123456789abcdef", DateTimeOffset.UnixEpoch)).ToList();
        var after = new List<int>();

        var report = await new SqsEventSource(_ => Task.FromResult<Stream>(new MemoryStream("""{"batchItemFailures":[]}"""u8.ToArray())))
            .DeliverAsync(factory.SqsBatches(objects), n => { after.Add(n); return Task.CompletedTask; });

        Assert.Equal(new SqsDeliveryReport(12, 2, 0, 0), report);
        Assert.Equal([10, 12], after);
    }

    [Fact]
    public void SqsEventSource_MaxReceiveCountBelowOne_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqsEventSource(_ => Task.FromResult<Stream>(new MemoryStream()), maxReceiveCount: 0));

    [Fact]
    public void SimulatedClock_Advance_MovesNowAndTheOffset()
    {
        var clock = new SimulatedClock();
        var before = clock.GetUtcNow();

        clock.Advance(TimeSpan.FromHours(2));

        Assert.Equal(TimeSpan.FromHours(2), clock.Offset);
        Assert.InRange(clock.GetUtcNow() - before, TimeSpan.FromHours(2), TimeSpan.FromHours(2) + TimeSpan.FromMinutes(1));
    }
}
