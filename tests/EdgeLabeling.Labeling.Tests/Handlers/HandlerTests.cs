using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Labeling.Tests.Support;
using EdgeLabeling.Lambdas;
using EdgeLabeling.Simulation.LocalCloud;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.Labeling.Tests.Handlers;

/// <summary>The handlers end to end over the local adapters, composed by the same AddLabeling the Lambdas use.</summary>
public sealed class HandlerTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FakeSageMaker _sageMaker = new();
    private readonly ServiceProvider _services;

    public HandlerTests()
    {
        var options = Fixtures.Options(_dir.File("pending.db"), o => o with
        {
            LocalStoreRoot = _dir.File("s3"),
            Batching = o.Batching with { MinItems = 2 },
        });
        _services = new ServiceCollection()
            .AddSingleton<ISageMakerClient>(_sageMaker)
            .AddSingleton<ILabelingMetrics>(new RecordingMetrics())
            .AddLabeling(options)
            .BuildServiceProvider();
    }

    public void Dispose()
    {
        _services.Dispose();
        _dir.Dispose();
    }

    private static MemoryStream Json(string s) => new(Encoding.UTF8.GetBytes(s));

    [Fact]
    public async Task IngestThenBatch_SqsEventsAndSchedule_CreateOneJob()
    {
        var objects = _services.GetRequiredService<IObjectStore>();
        var records = new List<S3EventRecord>();
        for (var n = 0; n < 2; n++)
        {
            var sidecar = ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(n));
            await objects.PutBytesAsync(Fixtures.Bucket, sidecar, Fixtures.Review(n).ToUtf8Json(), "application/json");
            records.Add(Fixtures.Record(Fixtures.ImageKey(n)));
            records.Add(Fixtures.Record(sidecar));
        }

        var sqs = JsonSerializer.Serialize(Fixtures.Sqs(Fixtures.NotificationJson([.. records]), "{broken"), LabelingJsonContext.Default.SqsEvent);
        using var ingestOut = await new IngestFunction(_services).HandleAsync(Json(sqs));
        var response = JsonSerializer.Deserialize(ingestOut, LabelingJsonContext.Default.SqsBatchResponse)!;

        using var batchOut = await new BatchFunction(_services).HandleAsync(Json(
            new AwsEventFactory("eu-west-1", "123456789012").ScheduledEvent(DateTimeOffset.Parse("2026-11-26T06:05:00Z", CultureInfo.InvariantCulture)).ToJsonString()));
        var report = JsonSerializer.Deserialize(batchOut, LabelingJsonContext.Default.BatchRunReport)!;

        Assert.Empty(response.BatchItemFailures);
        var job = Assert.Single(report.Jobs);
        Assert.Equal(2, job.Items);
        Assert.True(_sageMaker.Jobs.ContainsKey(job.JobName));
        Assert.NotNull(await objects.HeadAsync(Fixtures.DataBucket, $"jobs/input/{job.JobName}/input.manifest"));
    }

    [Fact]
    public async Task IngestFunction_NotAnSqsEvent_ReturnsEmptyFailureList()
    {
        using var output = await new IngestFunction(_services).HandleAsync(Json("[1,2,3]"));

        Assert.Equal("""{"batchItemFailures":[]}""", await new StreamReader(output).ReadToEndAsync());
    }

    [Fact]
    public async Task BatchFunction_DirectFlushInvoke_PlansBelowThreshold()
    {
        var objects = _services.GetRequiredService<IObjectStore>();
        var sidecar = ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(9));
        await objects.PutBytesAsync(Fixtures.Bucket, sidecar, Fixtures.Review(9).ToUtf8Json(), "application/json");
        var sqs = JsonSerializer.Serialize(Fixtures.Sqs(Fixtures.NotificationJson(Fixtures.Record(Fixtures.ImageKey(9)), Fixtures.Record(sidecar))), LabelingJsonContext.Default.SqsEvent);
        (await new IngestFunction(_services).HandleAsync(Json(sqs))).Dispose();

        using var quiet = await new BatchFunction(_services).HandleAsync(new MemoryStream());
        using var flushed = await new BatchFunction(_services).HandleAsync(Json("""{"flush":true}"""));

        Assert.Equal(BatchDecisions.BelowThreshold, JsonSerializer.Deserialize(quiet, LabelingJsonContext.Default.BatchRunReport)!.Decision);
        Assert.Single(JsonSerializer.Deserialize(flushed, LabelingJsonContext.Default.BatchRunReport)!.Jobs);
    }
}
