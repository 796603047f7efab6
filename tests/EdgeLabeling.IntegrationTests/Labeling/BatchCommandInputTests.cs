namespace EdgeLabeling.IntegrationTests.Labeling;

/// <summary>The batch command's answers to bad input, run as a real process (exit code and stderr).</summary>
[Trait("Category", "Integration")]
public sealed class BatchCommandInputTests : IDisposable
{
    private readonly TempDir _dir = new("edgelabel-it-batchcli-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Batch_MissingEventsFile_Exits2NamingTheFile()
    {
        var missing = _dir.File("no-such-events.json");

        var (exit, _, stderr) = await LabelingPipelineRgwTests.RunCliAsync("batch", "--events", missing, "--dry-run", "--output", _dir.File("out"));

        Assert.Equal(2, exit);
        Assert.Contains("no-such-events.json", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_EventsFileNotJson_Exits2SayingSo()
    {
        var events = _dir.File("events.json");
        await File.WriteAllTextAsync(events, "Records: nope");

        var (exit, _, stderr) = await LabelingPipelineRgwTests.RunCliAsync("batch", "--events", events, "--dry-run", "--output", _dir.File("out"));

        Assert.Equal(2, exit);
        Assert.Contains("events file events.json is not JSON", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_DryRunWithoutOutput_Exits2()
    {
        var events = _dir.File("events.json");
        await File.WriteAllTextAsync(events, """{"Service":"Amazon S3","Event":"s3:TestEvent"}""");

        var (exit, _, stderr) = await LabelingPipelineRgwTests.RunCliAsync("batch", "--events", events, "--dry-run");

        Assert.Equal(2, exit);
        Assert.Contains("--output", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_ConfigWithBadNumber_Exits2NamingTheVariable()
    {
        var events = _dir.File("events.json");
        await File.WriteAllTextAsync(events, """{"Service":"Amazon S3","Event":"s3:TestEvent"}""");
        var config = _dir.File("config.json");
        await File.WriteAllTextAsync(config, """{"BATCH_MIN_ITEMS":"lots","LOCAL_STORE_ROOT":"store"}""");

        var (exit, _, stderr) = await LabelingPipelineRgwTests.RunCliAsync("batch", "--events", events, "--config", config, "--dry-run", "--output", _dir.File("out"));

        Assert.Equal(2, exit);
        Assert.Contains("BATCH_MIN_ITEMS", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_OnlyTestEvent_MakesNoJobAndSucceeds()
    {
        var events = _dir.File("events.json");
        await File.WriteAllTextAsync(events, """{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-26T06:00:00.000Z","Bucket":"edgelabel-incoming"}""");
        var config = _dir.File("config.json");
        await File.WriteAllTextAsync(config, """{"LOCAL_STORE_ROOT":"store","WORKTEAM_ARN":"arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/t","GT_ROLE_ARN":"arn:aws:iam::123456789012:role/gt"}""");

        var (exit, stdout, stderr) = await LabelingPipelineRgwTests.RunCliAsync("batch", "--events", events, "--config", config, "--dry-run", "--output", _dir.File("out"), "--json");

        Assert.True(exit == 0, stderr);
        Assert.Contains("\"Decision\":\"no-pending\"", stdout, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.File("out")));
    }
}
