using System.Text;
using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Coco;
using EdgeLabeling.Labeling.Merge;
using static EdgeLabeling.Labeling.Tests.Merge.OutputFixtures;

namespace EdgeLabeling.Labeling.Tests.Merge;

public sealed class DatasetBuilderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private ManifestSource File(string name, params string[] lines)
    {
        var path = Path.Combine(_dir.Path, name);
        System.IO.File.WriteAllText(path, string.Join("\r\n", lines) + "\r\n");
        return ManifestSource.FromFile(path);
    }

    private async Task<(DatasetBuildReport Report, string[] Lines, JsonDocument Coco)> BuildAsync(ManifestSource[] human, ManifestSource[] auto)
    {
        using var dataset = new MemoryStream();
        using var coco = new MemoryStream();
        var report = await new DatasetBuilder().BuildAsync(
            new DatasetBuildRequest { HumanSources = human, AutoLabelSources = auto, WorkDirectory = _dir.Path },
            dataset, coco);
        var lines = Encoding.UTF8.GetString(dataset.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (report, lines, JsonDocument.Parse(coco.ToArray()));
    }

    [Fact]
    public async Task BuildAsync_AuditImageInBothSets_KeepsTheHumanLabelAndMeasuresAgreement()
    {
        // Image 1: the model's prior box matches the human's first box (IoU ≈ 0.99); the human also drew a washer.
        var (report, lines, _) = await BuildAsync([File("job.manifest", RealStyle(1))], [File("auto.manifest", Auto(1), Auto(2))]);

        Assert.Equal(2, lines.Length);
        var one = GroundTruthManifest.Parse(lines.Single(l => l.Contains(Sha(1), StringComparison.Ordinal)), "parts");
        Assert.True(one.HumanAnnotated);
        Assert.Equal(2, one.Boxes.Count);
        Assert.Equal(1, report.HumanOverModel);
        Assert.Equal(1, report.AuditAgreement.Images);
        Assert.Equal(1, report.AuditAgreement.ModelBoxes);
        Assert.Equal(2, report.AuditAgreement.HumanBoxes);
        Assert.Equal(1, report.AuditAgreement.MatchedBoxes);
        Assert.Equal(1.0, report.AuditAgreement.Precision);
        Assert.Equal(0.5, report.AuditAgreement.Recall);
        Assert.Equal(0, report.AuditAgreement.ImagesInFullAgreement);
    }

    [Fact]
    public async Task BuildAsync_ReviewedImageNotAutoLabeled_CountsAsReviewedAgreementNotAudit()
    {
        var (report, _, _) = await BuildAsync([File("job.manifest", RealStyle(1))], []);

        Assert.Equal(0, report.AuditAgreement.Images);
        Assert.Equal(1, report.ReviewedAgreement.Images);
    }

    [Fact]
    public async Task BuildAsync_SameImageInRetriedBatchesAndTwoJobs_WritesItOnce()
    {
        var (report, lines, _) = await BuildAsync(
            [File("a.manifest", DocsStyle(1, "job-a")), File("b.manifest", DocsStyle(1, "job-b"))],
            [File("auto1.manifest", Auto(7)), File("auto2.manifest", Auto(7), Auto(8))]);

        Assert.Equal(3, lines.Length);
        Assert.Equal(1, report.DuplicateHumanLines);
        Assert.Equal(1, report.DuplicateModelLines);
        Assert.Equal("job-a", GroundTruthManifest.Parse(lines[0], "parts").JobName);
    }

    [Fact]
    public async Task BuildAsync_ModelLines_CarryModelProvenanceAndHumanAnnotatedNo()
    {
        var (_, lines, _) = await BuildAsync([], [File("auto.manifest", Auto(3))]);

        var doc = JsonDocument.Parse(lines.Single()).RootElement;
        Assert.Equal("no", doc.GetProperty("parts-metadata").GetProperty("human-annotated").GetString());
        Assert.Equal("labeling-job/edge-auto-site-a-cam1", doc.GetProperty("parts-metadata").GetProperty("job-name").GetString());
        Assert.Equal("model", doc.GetProperty("edgelabel-provenance").GetProperty("source").GetString());
        Assert.Equal("abc123", doc.GetProperty("edgelabel-provenance").GetProperty("model-sha256").GetString());
        Assert.Equal("2026-11-25T10:00:00.000000", doc.GetProperty("parts-metadata").GetProperty("creation-date").GetString());
    }

    [Fact]
    public async Task BuildAsync_BadAutoLabelLines_AreSkippedWithNamedReasons()
    {
        var (report, lines, _) = await BuildAsync([], [File("auto.manifest", "not json at all", """{"source-ref":"s3://b/k.jpg"}""", Auto(4))]);

        Assert.Single(lines);
        Assert.Equal(1, report.Skipped["auto-label-not-json"]);
        Assert.Equal(1, report.Skipped["auto-label-no-label"]);
    }

    [Fact]
    public async Task BuildAsync_Coco_HasUniqueIdsValidReferencesAndBboxAsLeftTopWidthHeight()
    {
        var (report, _, coco) = await BuildAsync([File("job.manifest", RealStyle(1), DocsStyle(2), Empty(3))], [File("auto.manifest", Auto(4, left: 10, top: 20, classId: 1))]);
        var root = coco.RootElement;

        var images = root.GetProperty("images").EnumerateArray().ToList();
        var annotations = root.GetProperty("annotations").EnumerateArray().ToList();
        var categories = root.GetProperty("categories").EnumerateArray().ToList();
        Assert.Equal(4, images.Count);
        Assert.Equal(4, report.CocoImages);
        Assert.Equal(4, annotations.Count);
        Assert.Equal(images.Count, images.Select(i => i.GetProperty("id").GetInt64()).Distinct().Count());
        Assert.Equal(annotations.Count, annotations.Select(a => a.GetProperty("id").GetInt64()).Distinct().Count());
        var imageIds = images.Select(i => i.GetProperty("id").GetInt64()).ToHashSet();
        var categoryIds = categories.Select(c => c.GetProperty("id").GetInt32()).ToHashSet();
        Assert.All(annotations, a => Assert.Contains(a.GetProperty("image_id").GetInt64(), imageIds));
        Assert.All(annotations, a => Assert.Contains(a.GetProperty("category_id").GetInt32(), categoryIds));
        Assert.Equal(new HashSet<int> { 1, 2, 3 }, categoryIds);
        Assert.Equal("washer", categories.Single(c => c.GetProperty("id").GetInt32() == CocoExportWriter.CategoryId(2)).GetProperty("name").GetString());

        // The docs-style box: left 50, top 40, width 70, height 60.
        var docsImage = images.Single(i => i.GetProperty("file_name").GetString()!.Contains(Sha(2), StringComparison.Ordinal));
        Assert.Equal(640, docsImage.GetProperty("width").GetInt32());
        var box = annotations.Single(a => a.GetProperty("image_id").GetInt64() == docsImage.GetProperty("id").GetInt64());
        Assert.Equal([50.0, 40.0, 70.0, 60.0], box.GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(70.0 * 60.0, box.GetProperty("area").GetDouble());
        Assert.Equal(CocoExportWriter.CategoryId(1), box.GetProperty("category_id").GetInt32());
        Assert.Equal("incoming/site-a-cam1/2026/11/26/" + Sha(2) + ".jpg", docsImage.GetProperty("file_name").GetString());
    }

    [Fact]
    public async Task BuildAsync_Coco_IdsStayTheSameWhenTheDatasetGrows()
    {
        var (_, _, small) = await BuildAsync([File("j1.manifest", DocsStyle(2))], []);
        var (_, _, large) = await BuildAsync([File("j0.manifest", RealStyle(1)), File("j1b.manifest", DocsStyle(2))], [File("a.manifest", Auto(9))]);

        long IdOf(JsonDocument d) => d.RootElement.GetProperty("images").EnumerateArray()
            .Single(i => i.GetProperty("file_name").GetString()!.Contains(Sha(2), StringComparison.Ordinal)).GetProperty("id").GetInt64();
        long AnnotationOf(JsonDocument d) => d.RootElement.GetProperty("annotations").EnumerateArray()
            .Single(a => a.GetProperty("image_id").GetInt64() == IdOf(d)).GetProperty("id").GetInt64();
        Assert.Equal(IdOf(small), IdOf(large));
        Assert.Equal(AnnotationOf(small), AnnotationOf(large));
    }

    [Fact]
    public async Task BuildAsync_EmptyInputs_WritesEmptyDatasetAndValidCoco()
    {
        var (report, lines, coco) = await BuildAsync([], []);

        Assert.Empty(lines);
        Assert.Equal(0, report.TotalImages);
        Assert.Equal(0, coco.RootElement.GetProperty("images").GetArrayLength());
        Assert.Equal(0, coco.RootElement.GetProperty("categories").GetArrayLength());
    }

    [Fact]
    public async Task BuildAsync_JobOutputWithForeignAttributeName_YieldsTheFullDatasetAndReportsTheMapping()
    {
        // Output of an earlier job whose label attribute was "category": before, an empty dataset.
        var (report, lines, coco) = await BuildAsync([File("old-job.manifest", LabelSelectionTests.Foreign(1), LabelSelectionTests.Foreign(2), LabelSelectionTests.Foreign(3))], []);

        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.True(GroundTruthManifest.Parse(l, "parts").HumanAnnotated));
        Assert.Equal(3, report.HumanImages);
        Assert.Equal(3, coco.RootElement.GetProperty("images").GetArrayLength());
        var source = Assert.Single(report.Sources);
        Assert.Equal(new AttributeTally(GroundTruthManifest.ObjectDetectionType, 3, 3), source.Attributes["category"]);
        Assert.False(source.NothingUsable);
        Assert.Contains("'category' (groundtruth/object-detection): 3 of 3 line(s) used as 'parts'", source.Describe("parts"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BuildAsync_InputWithoutAnyBoxLabel_ReportsNothingUsableNamingTheAttribute()
    {
        const string classification = """{"source-ref":"s3://b/a.jpg","category":1,"category-metadata":{"class-name":"bolt","type":"groundtruth/image-classification","human-annotated":"yes"}}""";

        var (report, lines, _) = await BuildAsync([File("classification.manifest", classification, classification.Replace("a.jpg", "b.jpg", StringComparison.Ordinal))], []);

        Assert.Empty(lines);
        Assert.Equal(2, report.Skipped["not-bounding-box"]);
        var source = Assert.Single(report.Sources);
        Assert.True(source.NothingUsable);
        Assert.Contains("'category' (groundtruth/image-classification) on 2 line(s): not a bounding-box label", source.Describe("parts"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BuildAsync_NoImageMeasured_AgreementIsNullNotOneHundredPercent()
    {
        var (report, _, _) = await BuildAsync([File("job.manifest", DocsStyle(1))], []);

        Assert.Equal(0, report.AuditAgreement.Images);
        Assert.Null(report.AuditAgreement.Precision);
        Assert.Null(report.AuditAgreement.Recall);
        Assert.Equal("n/a", AgreementSummary.Format(report.AuditAgreement.Precision));
    }

    [Fact]
    public async Task BuildAsync_Yolo_WritesNormalisedCentreBoxesPerImageAndTheClassNames()
    {
        var yolo = Path.Combine(_dir.Path, "yolo");
        using var dataset = new MemoryStream();

        var report = await new DatasetBuilder().BuildAsync(
            new DatasetBuildRequest { HumanSources = [File("job.manifest", DocsStyle(2), Empty(3))], AutoLabelSources = [], WorkDirectory = _dir.Path }, dataset, null, yolo);

        Assert.Equal(2, report.YoloImages);
        // Docs-style box: left 50, top 40, width 70, height 60 in a 640x480 image, class 1 ("nut").
        Assert.Equal("1 0.132813 0.145833 0.109375 0.125\n", System.IO.File.ReadAllText(Path.Combine(yolo, "labels", Sha(2) + ".txt")));
        Assert.Equal("", System.IO.File.ReadAllText(Path.Combine(yolo, "labels", Sha(3) + ".txt")));
        Assert.Equal(["images/" + Sha(2) + ".jpg", "images/" + Sha(3) + ".jpg"], System.IO.File.ReadAllLines(Path.Combine(yolo, "images.txt")));
        Assert.Equal([SourceRef(2), SourceRef(3)], System.IO.File.ReadAllLines(Path.Combine(yolo, "source-refs.txt")));
        var yaml = System.IO.File.ReadAllText(Path.Combine(yolo, "data.yaml"));
        Assert.Contains("  0: \"class-0\"\n  1: \"nut\"\n", yaml, StringComparison.Ordinal);
    }
}
