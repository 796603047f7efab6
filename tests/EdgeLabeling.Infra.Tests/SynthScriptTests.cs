using System.Diagnostics;
using System.Text.Json.Nodes;
using EdgeLabeling.Infra.Configuration;

namespace EdgeLabeling.Infra.Tests;

/// <summary>Runs scripts/synth.sh (the pinned aws-cdk CLI → cdk.json app) for every environment, offline.</summary>
public sealed class SynthScriptTests
{
    [Fact]
    [Trait("Category", "Integration")]
    public async Task SynthScript_DevAndProd_WritesEveryStackTemplate()
    {
        using var assets = new TestAssets();
        var cli = Path.Combine(RepoPaths.Root, "node_modules", ".bin", "cdk");
        Assert.True(File.Exists(cli), $"the aws-cdk CLI is not installed at {cli}; run 'npm ci' (scripts/setup.sh does)");
        var output = Path.Combine(assets.Root, "cdk.out");

        var start = new ProcessStartInfo("bash", [Path.Combine(RepoPaths.Root, "scripts", "synth.sh"), "dev", "prod"])
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["EDGELABEL_LAMBDA_ASSETS"] = assets.LambdaDirectory;
        start.Environment["EDGELABEL_COMPONENT_DIR"] = assets.ComponentDirectory;
        start.Environment["EDGELABEL_REVIEW_PAGE"] = assets.ReviewPageDirectory;
        start.Environment["EDGELABEL_CDK_OUT"] = output;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 0, $"scripts/synth.sh failed ({process.ExitCode}):{Environment.NewLine}{await stderr}{await stdout}");
        foreach (var env in new[] { "dev", "prod" })
        {
            foreach (var stack in new[] { "Storage", "Labeling", "EdgeFleet" })
            {
                var file = Path.Combine(output, env, $"EdgeLabeling-{env}-{stack}.template.json");
                Assert.True(File.Exists(file), $"{file} was not written");
                var resources = JsonNode.Parse(File.ReadAllText(file))!["Resources"]!.AsObject();
                Assert.NotEmpty(resources);
                Assert.All(SecurityRules.All, rule => Assert.Empty(rule($"{env}/{stack}", JsonNode.Parse(File.ReadAllText(file))!.AsObject())));
            }

            // The CLI picked the environment the -c env flag named, not some default account.
            var config = ConfigLoader.Select(env, (JsonObject)JsonNode.Parse(File.ReadAllText(RepoPaths.CdkJson))!["context"]!["environments"]!);
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(output, env, "manifest.json")))!;
            Assert.Equal($"aws://{config.Account}/{config.Region}", manifest["artifacts"]![$"EdgeLabeling-{env}-Storage"]!["environment"]!.GetValue<string>());
        }
    }
}
