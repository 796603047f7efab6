using EdgeLabeling.Cli.Pipeline;

namespace EdgeLabeling.Cli.Tests;

/// <summary>The pipeline's config file (the AWS-format events it feeds the handlers are tested with the local cloud, Labeling.Tests/Simulation/LocalCloudTests).</summary>
public sealed class PipelineEventTests
{
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
