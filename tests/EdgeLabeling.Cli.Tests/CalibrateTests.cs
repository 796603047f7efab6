using System.Text.Json.Nodes;

namespace EdgeLabeling.Cli.Tests;

/// <summary>Calibration on the real demo model and the shipped fit/held-out sets.</summary>
[Trait("Category", "Integration")]
public class CalibrateTests
{
    private static string Samples(params string[] parts) => Path.Combine([CliRunner.RepoRoot, "samples", .. parts]);

    [Theory]
    [InlineData(0.85)]
    [InlineData(0.90)]
    public void Calibrate_OnFitSet_HeldOutPrecisionLandsWithinTwoPointsOfTarget(double target)
    {
        var output = Directory.CreateTempSubdirectory("calibrate-").FullName;
        var (code, stdout, stderr) = CliRunner.Run(
            "calibrate", "--model", Samples("models", "parts-detector.onnx"),
            "--images", Samples("calibration", "fit", "images"), "--labels", Samples("calibration", "fit", "labels"),
            "--holdout-images", Samples("calibration", "holdout", "images"), "--holdout-labels", Samples("calibration", "holdout", "labels"),
            "--target-precision", target.ToString(System.Globalization.CultureInfo.InvariantCulture), "--output", output, "--json");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        var report = JsonNode.Parse(stdout)!;
        Assert.True(report["meetsTarget"]!.GetValue<bool>());
        var fit = report["recommended"]!;
        Assert.True(fit["autoPrecision"]!.GetValue<double>() >= target);
        Assert.True(fit["humanShare"]!.GetValue<double>() < 1.0, "a recommendation must auto-label some images");

        var holdout = report["holdout"]!["autoPrecision"]!.GetValue<double>();
        Assert.InRange(holdout, target - 0.02, target + 0.02);

        var png = File.ReadAllBytes(Path.Combine(output, "calibration-tradeoff.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        var snippet = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "routing-config.json")))!;
        Assert.Equal(fit["high"]!.GetValue<double>(), snippet["autoAcceptThreshold"]!.GetValue<double>());
    }

    [Fact]
    public void Calibrate_UnreachableTarget_SaysSoWithExitCode4()
    {
        var output = Directory.CreateTempSubdirectory("calibrate-").FullName;
        var (code, stdout, _) = CliRunner.Run(
            "calibrate", "--model", Samples("models", "parts-detector.onnx"),
            "--images", Samples("calibration", "fit", "images"), "--labels", Samples("calibration", "fit", "labels"),
            "--target-precision", "0.999", "--confidence-z", "2", "--output", output);
        Assert.Equal(4, code);
        Assert.Contains("No threshold meets the target precision", stdout.ReplaceLineEndings(" ").Replace("  ", " "));
    }

    [Fact]
    public void Calibrate_MissingLabelsFolder_FailsNamingIt()
    {
        var (code, _, stderr) = CliRunner.Run(
            "calibrate", "--model", Samples("models", "parts-detector.onnx"),
            "--images", Samples("calibration", "fit", "images"), "--labels", "/nonexistent/labels", "--target-precision", "0.9");
        Assert.Equal(2, code);
        Assert.Contains("labels folder '/nonexistent/labels' does not exist", stderr);
    }
}
