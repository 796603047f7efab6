using System.Text.Json;
using EdgeLabeling.Cli.Pipeline;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Events;

namespace EdgeLabeling.Cli.Tests;

/// <summary>The AWS-format events the pipeline feeds the handlers, checked against the handlers' own reading of them.</summary>
public sealed class PipelineEventTests
{
    [Theory]
    [InlineData("incoming/site-a/2026/11/26/abc.jpg", "incoming/site-a/2026/11/26/abc.jpg")]
    [InlineData("incoming/red flower.jpg", "incoming/red+flower.jpg")]
    [InlineData("incoming/a+b.jpg", "incoming/a%2Bb.jpg")]
    [InlineData("incoming/größe.jpg", "incoming/gr%C3%B6%C3%9Fe.jpg")]
    public void S3Notification_KeyWithSpacesPlusAndUtf8_EncodesAsS3DoesAndDecodesBack(string key, string expected)
    {
        var notification = new AwsEventFactory("us-east-1", "123456789012").S3Notification(new CreatedObject("bucket-in", key, 1, "0123456789abcdef0123456789abcdef", DateTimeOffset.UnixEpoch));
        var encoded = notification["Records"]![0]!["s3"]!["object"]!["key"]!.GetValue<string>();

        Assert.Equal(expected, encoded);
        Assert.True(S3KeyDecoder.TryDecode(encoded, out var decoded, out var reason), reason);
        Assert.Equal(key, decoded);
    }

    [Fact]
    public void SqsBatches_WithTwentyFiveObjects_MakesBatchesOfTenWithOneS3RecordPerMessage()
    {
        var factory = new AwsEventFactory("us-east-1", "123456789012");
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
        var json = new AwsEventFactory("eu-west-1", "123456789012").ScheduledEvent(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero)).ToJsonString();

        var trigger = JsonSerializer.Deserialize(json, LabelingJsonContext.Default.BatchTrigger)!;

        Assert.Equal("Scheduled Event", trigger.DetailType);
        Assert.Equal("aws.events", trigger.Source);
        Assert.False(trigger.Flush);
        Assert.Null(trigger.Now);
    }

    [Fact]
    public void ConfigLoad_WithUnknownSection_FailsNamingIt()
    {
        var path = Path.Combine(Path.GetTempPath(), "pipeline-config-" + Guid.NewGuid().ToString("N")[..8] + ".json");
        File.WriteAllText(path, """{"edge": {"InferenceThreads": 2}, "lambda": {}}""");
        try
        {
            var ex = Assert.Throws<PipelineInputException>(() => PipelineConfig.Load(path));
            Assert.Contains("unknown section 'lambda'", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ConfigLoad_WithSections_ReadsEdgeCloudAndWorkforceValues()
    {
        var path = Path.Combine(Path.GetTempPath(), "pipeline-config-" + Guid.NewGuid().ToString("N")[..8] + ".json");
        File.WriteAllText(path, """{"edge": {"InferenceThreads": 2, "UploadAutoLabeledImages": true}, "cloud": {"BATCH_MIN_ITEMS": "5"}, "workforce": {"missRate": 0.1}}""");
        try
        {
            var config = PipelineConfig.Load(path);

            Assert.Equal("2", config.Edge["InferenceThreads"]);
            Assert.Equal("true", config.Edge["UploadAutoLabeledImages"]);
            Assert.Equal("5", config.Cloud["BATCH_MIN_ITEMS"]);
            var workforce = config.BuildWorkforce(3);
            Assert.Equal(0.1, workforce.MissRate);
            Assert.Equal(3, workforce.Seed);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
