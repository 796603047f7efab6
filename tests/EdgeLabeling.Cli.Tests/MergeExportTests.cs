using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Cli.Tests;

/// <summary>`edgelabel merge` on any Ground Truth box output, and `edgelabel export` of the merged shards (the real executable).</summary>
public sealed class MergeExportTests : IDisposable
{
    private static readonly string[] Classes = ["bolt", "nut", "washer"];
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "edgelabel-cli-merge-" + Guid.NewGuid().ToString("N"));

    public MergeExportTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    private static string Sha(int i) => i.ToString("x64", CultureInfo.InvariantCulture);

    private static string SourceRef(int i) => $"s3://incoming/incoming/site-a/2026/11/26/{Sha(i)}.jpg";

    private static string Line(int i, string attribute, bool human, string job = "labeling-job/old-job-1") =>
        GroundTruthManifest.BuildLine(SourceRef(i), attribute, new ImageSize(640, 480), [new PixelBox(1, 50, 40, 70, 60, human ? 0 : 0.9)], Classes, human, job,
            new DateTimeOffset(2026, 10, 1, 9, 0, 0, TimeSpan.Zero)).ToJsonString();

    private string Write(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    [Fact]
    public void Merge_JobOutputWithForeignAttributeName_WritesTheFullDatasetAndSaysWhatItMapped()
    {
        // The output of an earlier job whose label attribute was "category": it used to give an empty dataset and exit 0.
        var input = Write("old-job.manifest", Enumerable.Range(1, 3).Select(i => Line(i, "category", human: true)));
        var output = Path.Combine(_dir, "dataset.manifest");

        var (code, stdout, stderr) = CliRunner.Run("merge", "--job-output", input, "--output", output, "--json");

        Assert.True(code == 0, stderr);
        var lines = File.ReadAllLines(output);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.True(GroundTruthManifest.Parse(l, "parts").HumanAnnotated));
        var report = JsonNode.Parse(stdout)!;
        var category = report["Sources"]![0]!["Attributes"]!["category"]!;
        Assert.Equal(3, category["Used"]!.GetValue<long>());
        Assert.Equal(GroundTruthManifest.ObjectDetectionType, category["Type"]!.GetValue<string>());

        var (_, table, _) = CliRunner.Run("merge", "--job-output", input, "--output", output);
        Assert.Contains("'category'", table, StringComparison.Ordinal);
        Assert.Contains("as 'parts'", table, StringComparison.Ordinal);
    }

    [Fact]
    public void Merge_InputOfWhichNothingIsUsable_ExitsNonZeroNamingTheAttributeItFound()
    {
        var input = Write("classification.manifest", Enumerable.Range(1, 2).Select(i =>
            $$$"""{"source-ref":"{{{SourceRef(i)}}}","category":1,"category-metadata":{"class-name":"nut","type":"groundtruth/image-classification","human-annotated":"yes"}}"""));

        var (code, _, stderr) = CliRunner.Run("merge", "--job-output", input, "--output", Path.Combine(_dir, "out.manifest"));

        Assert.Equal(2, code);
        Assert.Contains("nothing usable", stderr, StringComparison.Ordinal);
        Assert.Contains("'category' (groundtruth/image-classification)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Merge_NoAuditImage_PrintsAgreementAsNotApplicable()
    {
        var input = Write("job.manifest", [Line(1, "parts-human", human: true)]);
        var output = Path.Combine(_dir, "dataset.manifest");

        var (code, stdout, stderr) = CliRunner.Run("merge", "--job-output", input, "--output", output);
        var (_, json, _) = CliRunner.Run("merge", "--job-output", input, "--output", output, "--json");

        Assert.True(code == 0, stderr);
        Assert.Contains("n/a / n/a over 0 images", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("100.0", stdout, StringComparison.Ordinal);
        Assert.Null(JsonNode.Parse(json)!["AuditAgreement"]!["Precision"]);
    }

    [Fact]
    public void Export_LocalStoreWithShardsAndAutoLabels_WritesManifestCocoAndYolo()
    {
        // Layout of a local object store: <root>/<bucket>/<key>; the merge wrote one shard per job.
        var store = Path.Combine(_dir, "store");
        Write("store/data/dataset/parts/jobs/job-a.manifest", [Line(1, "parts", human: true, "labeling-job/job-a"), Line(2, "parts", human: true, "labeling-job/job-a")]);
        Write("store/data/dataset/parts/jobs/job-b.manifest", [Line(3, "parts", human: true, "labeling-job/job-b")]);
        Write("store/data/auto-labels/site-a/2026/11/26/" + Sha(99) + ".manifest", [Line(3, "parts", human: false, "labeling-job/edge-auto-site-a"), Line(4, "parts", human: false, "labeling-job/edge-auto-site-a")]);
        var output = Path.Combine(_dir, "export");

        var (code, stdout, stderr) = CliRunner.Run("export", "--store", store, "--data-bucket", "data", "--output", output, "--format", "coco,yolo", "--json");

        Assert.True(code == 0, stderr);
        var report = JsonNode.Parse(stdout)!;
        Assert.Equal(3, report["HumanImages"]!.GetValue<long>());
        Assert.Equal(1, report["ModelImages"]!.GetValue<long>());
        Assert.Equal(4, File.ReadAllLines(Path.Combine(output, "dataset.manifest")).Length);
        using var coco = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, "coco.json")));
        Assert.Equal(4, coco.RootElement.GetProperty("images").GetArrayLength());
        Assert.Equal(4, Directory.GetFiles(Path.Combine(output, "yolo", "labels")).Length);
        Assert.True(File.Exists(Path.Combine(output, "yolo", "data.yaml")));
        Assert.True(File.Exists(Path.Combine(output, "build-report.json")));
    }

    [Fact]
    public void Export_NothingMergedYet_ExitsThreeSayingTheDatasetIsEmpty()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "empty", "data"));

        var (code, _, stderr) = CliRunner.Run("export", "--store", Path.Combine(_dir, "empty"), "--data-bucket", "data", "--output", Path.Combine(_dir, "out"));

        Assert.Equal(3, code);
        Assert.Contains("the dataset is empty", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--format", "coco,parquet", "unknown --format 'parquet'")]
    [InlineData("--store", "/no/such/folder", "does not exist")]
    public void Export_BadArguments_ExitTwoNamingTheProblem(string option, string value, string message)
    {
        var (code, _, stderr) = CliRunner.Run("export", "--output", Path.Combine(_dir, "out"), option, value);

        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_WithoutOutput_ExitsTwo()
    {
        var (code, _, stderr) = CliRunner.Run("export");

        Assert.Equal(2, code);
        Assert.Contains("--output DIR is required", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_Help_DescribesEveryOption()
    {
        var (code, stdout, _) = CliRunner.Run("export", "--help");

        Assert.Equal(0, code);
        foreach (var option in new[] { "--output", "--format", "--config", "--store", "--s3-endpoint", "--data-bucket", "--label-attribute", "--upload", "--json" })
        {
            Assert.Contains(option, stdout, StringComparison.Ordinal);
        }
    }
}
