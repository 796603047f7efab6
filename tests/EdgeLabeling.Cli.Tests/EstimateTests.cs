namespace EdgeLabeling.Cli.Tests;

public class EstimateTests
{
    [Fact]
    public void Cli_WithBothShareAndRun_FailsWithOneLineReason()
    {
        var (code, _, err) = CliRunner.Run("estimate", "--images", "100", "--review-share", "0.2", "--from-run", Path.GetTempPath());
        Assert.Equal(2, code);
        Assert.Contains("give exactly one of --review-share or --from-run", err);
    }

    [Fact]
    public void Cli_Json_ReportsBothScenarios()
    {
        var (code, stdout, _) = CliRunner.Run("estimate", "--images", "20000", "--review-share", "0.3", "--json");
        Assert.Equal(0, code);
        var node = System.Text.Json.Nodes.JsonNode.Parse(stdout)!;
        Assert.Equal(6000, node["edgeLabeling"]!["objectsToPeople"]!.GetValue<long>());
        Assert.Equal(20000, node["allByHand"]!["objectsToPeople"]!.GetValue<long>());
        Assert.True(node["savedUsd"]!.GetValue<decimal>() > 0);
    }
}

public class CommandLineErrorTests
{
    [Fact]
    public void Cli_MissingRequiredOption_FailsWithOneLineNamingIt()
    {
        var (code, stdout, stderr) = CliRunner.Run("label", "--input", "x", "--output", "y");
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("edgelabel label: error:", line);
        Assert.Contains("--model", line);
        Assert.Equal("", stdout.Trim());
    }

    [Fact]
    public void Label_InferenceThreadsOutOfRange_FailsNamingTheOption()
    {
        var model = Path.Combine(CliRunner.RepoRoot, "samples", "models", "parts-detector.onnx");
        var (code, _, stderr) = CliRunner.Run("label", "--model", model, "--input", Path.GetTempPath(), "--output", Path.GetTempPath(), "--inference-threads", "0");
        Assert.Equal(2, code);
        Assert.Contains("--inference-threads 0 must be between 1 and 64", stderr);
    }

    [Fact]
    public void Label_ConcurrentRunsOutOfRange_FailsNamingTheOption()
    {
        var model = Path.Combine(CliRunner.RepoRoot, "samples", "models", "parts-detector.onnx");
        var (code, _, stderr) = CliRunner.Run("label", "--model", model, "--input", Path.GetTempPath(), "--output", Path.GetTempPath(), "--concurrent-runs", "17");
        Assert.Equal(2, code);
        Assert.Contains("--concurrent-runs 17 must be between 1 and 16", stderr);
    }

    [Fact]
    public void Label_DefaultConcurrentRuns_DecidesExactlyAsOneRunAtATime()
    {
        using var dir = new TempDir("edgelabel-runs-");
        var model = Path.Combine(CliRunner.RepoRoot, "samples", "models", "parts-detector.onnx");
        var labels = Path.Combine(CliRunner.RepoRoot, "samples", "classes.txt");
        var images = Path.Combine(CliRunner.RepoRoot, "samples", "calibration", "holdout", "images");

        var (defaultCode, defaultOut, defaultErr) = CliRunner.Run("label", "--model", model, "--labels", labels, "--input", images, "--output", dir.File("default"), "--json");
        var (oneCode, _, oneErr) = CliRunner.Run("label", "--model", model, "--labels", labels, "--input", images, "--output", dir.File("one"), "--json", "--concurrent-runs", "1");

        Assert.True(defaultCode == 0, defaultErr);
        Assert.True(oneCode == 0, oneErr);
        Assert.Equal(Math.Min(2, Environment.ProcessorCount), System.Text.Json.Nodes.JsonNode.Parse(defaultOut)!["concurrentRuns"]!.GetValue<int>());
        var decided = File.ReadAllLines(dir.File("default/decisions.jsonl"));
        Assert.True(decided.Length > 100, $"only {decided.Length} decisions");
        Assert.Equal(File.ReadAllLines(dir.File("one/decisions.jsonl")), decided);
    }

    [Fact]
    public void Cli_UnknownCommand_FailsWithOneLine()
    {
        var (code, _, stderr) = CliRunner.Run("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("frobnicate", stderr);
    }
}
