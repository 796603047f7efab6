using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Jobs;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Labeling.Tests.Support;

namespace EdgeLabeling.Labeling.Tests.Batching;

public class LabelingJobFactoryTests
{
    private static readonly BatchRecord Batch = new("20261126t060000-0a1b2c3d", "edgelabel-20261126t060000-0a1b2c3d", BatchStatus.Claimed, Fixtures.Start, 2, "2026-11", 0.16m);

    private static PendingItem Item(int n, ReviewRecord review) => new(
        Fixtures.ImageKey(n), Fixtures.Bucket, "site-7_cam:1", PendingStatus.Claimed, true, true, Batch.BatchId, Fixtures.Start, Fixtures.Start, PendingPayload.From(review));

    private static LabelingJobDraft Build(Func<LabelingOptions, LabelingOptions>? tweak = null, params PendingItem[] items) =>
        new LabelingJobFactory(Fixtures.Options("unused.db", tweak), new ManualTime(Fixtures.Start)).Build(Batch, items);

    [Fact]
    public void Build_WithBoxes_IsAValidAdjustmentRequest()
    {
        var draft = Build(null, Item(1, Fixtures.Review(1, boxes: 2)), Item(2, Fixtures.Review(2, boxes: 0)));
        var r = draft.Request;

        Assert.Empty(CreateLabelingJobValidator.Validate(r));
        Assert.True(draft.Adjustment);
        Assert.Equal(Batch.JobName, r.LabelingJobName);
        Assert.Equal("parts-human", r.LabelAttributeName);
        Assert.Equal($"s3://{Fixtures.DataBucket}/jobs/input/{Batch.JobName}/input.manifest", r.InputConfig!.DataSource!.S3DataSource!.ManifestS3Uri);
        Assert.Equal($"s3://{Fixtures.DataBucket}/jobs/input/{Batch.JobName}/label-categories.json", r.LabelCategoryConfigS3Uri);
        Assert.Equal($"s3://{Fixtures.DataBucket}/jobs/input/{Batch.JobName}/bounding-box.liquid.html", r.HumanTaskConfig!.UiConfig!.UiTemplateS3Uri);
        Assert.Equal($"s3://{Fixtures.DataBucket}/jobs/output/", r.OutputConfig!.S3OutputPath);
        Assert.StartsWith("arn:aws:kms:", r.OutputConfig.KmsKeyId, StringComparison.Ordinal);
        Assert.Equal("arn:aws:lambda:eu-west-1:568282634449:function:PRE-AdjustmentBoundingBox", r.HumanTaskConfig.PreHumanTaskLambdaArn);
        Assert.Equal("arn:aws:lambda:eu-west-1:568282634449:function:ACS-AdjustmentBoundingBox", r.HumanTaskConfig.AnnotationConsolidationConfig!.AnnotationConsolidationLambdaArn);
        Assert.Equal(1, r.HumanTaskConfig.NumberOfHumanWorkersPerDataObject);
        Assert.Equal(3 * 86_400, r.HumanTaskConfig.TaskAvailabilityLifetimeInSeconds);
        Assert.Contains(r.Tags!, t => t.Key == LabelingJobFactory.BatchIdTag && t.Value == Batch.BatchId);
        Assert.StartsWith("arn:aws:sagemaker:eu-west-1:123456789012:workteam/private-crowd/", r.HumanTaskConfig.WorkteamArn, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_ManifestLines_CarryModelBoxesAsPriorAttribute()
    {
        var draft = Build(null, Item(1, Fixtures.Review(1, boxes: 3)));
        var line = Encoding.UTF8.GetString(draft.Manifest).TrimEnd('\n');

        Assert.DoesNotContain('\n', line);
        var parsed = GroundTruthManifest.Parse(line, "parts-model");
        Assert.Equal($"s3://{Fixtures.Bucket}/{Fixtures.ImageKey(1)}", parsed.SourceRef);
        Assert.False(parsed.HumanAnnotated);
        Assert.Equal(3, parsed.Boxes.Count);
        Assert.Equal(new ImageSize(640, 480), parsed.Size);
        Assert.Equal("edge-auto-site-7_cam:1", parsed.JobName);
        // Sidecar classes [valve, gauge, pipe] map onto the job's labels [valve, gauge] + appended pipe.
        Assert.Equal(["valve", "gauge", "pipe"], parsed.Boxes.Select(b => parsed.ClassMap[b.ClassId]));
    }

    [Fact]
    public void Build_SidecarWithOtherClassOrder_RemapsIdsByName()
    {
        var review = Fixtures.Review(1, boxes: 1) with { ClassNames = ["gauge", "valve"] };

        var draft = Build(null, Item(1, review));

        var parsed = GroundTruthManifest.Parse(Encoding.UTF8.GetString(draft.Manifest).TrimEnd('\n'), "parts-model");
        var box = Assert.Single(parsed.Boxes);
        Assert.Equal(1, box.ClassId);
        Assert.Equal("gauge", parsed.ClassMap[1]);
        Assert.Equal(["valve", "gauge"], draft.Labels);
    }

    [Fact]
    public void Build_LabelCategoryFile_IsGroundTruthFormat()
    {
        var draft = Build(null, Item(1, Fixtures.Review(1, boxes: 3)));

        using var doc = JsonDocument.Parse(draft.LabelCategories);
        Assert.Equal("2018-11-28", doc.RootElement.GetProperty("document-version").GetString());
        Assert.Equal(["valve", "gauge", "pipe"], doc.RootElement.GetProperty("labels").EnumerateArray().Select(l => l.GetProperty("label").GetString()));
    }

    [Fact]
    public void Build_Template_IsCrowdBoundingBoxWithPriorAttributeFilledIn()
    {
        var html = Encoding.UTF8.GetString(Build(null, Item(1, Fixtures.Review(1))).Template);

        Assert.Contains("<crowd-bounding-box", html, StringComparison.Ordinal);
        Assert.Contains("task.input.manifestLine[\"parts-model\"]", html, StringComparison.Ordinal);
        Assert.Contains("task.input.labels", html, StringComparison.Ordinal);
        Assert.Contains("initial-value=", html, StringComparison.Ordinal);
        Assert.DoesNotContain("__PRIOR_ATTRIBUTE__", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("WORKTEAM_ARN")]
    [InlineData("GT_ROLE_ARN")]
    public void Constructor_MissingRequiredArn_NamesTheVariable(string variable)
    {
        var options = Fixtures.Options("unused.db", o => variable == "WORKTEAM_ARN" ? o with { WorkteamArn = "" } : o with { GroundTruthRoleArn = " " });

        var ex = Assert.Throws<ArgumentException>(() => new LabelingJobFactory(options));

        Assert.Contains(variable, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_UnknownRegion_FailsNamingRegion()
    {
        var ex = Assert.Throws<ArgumentException>(() => Build(o => o with { Region = "mars-north-1" }, Item(1, Fixtures.Review(1))));

        Assert.Contains("mars-north-1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_RequestSerialization_UsesWireMemberNamesAndOmitsNulls()
    {
        var body = SageMakerJsonClient.SerializeCreateLabelingJob(Build(null, Item(1, Fixtures.Review(1))).Request);

        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        Assert.Equal("parts-human", root.GetProperty("LabelAttributeName").GetString());
        Assert.True(root.GetProperty("HumanTaskConfig").TryGetProperty("AnnotationConsolidationConfig", out _));
        Assert.False(root.TryGetProperty("StoppingConditions", out _));
        Assert.False(root.GetProperty("HumanTaskConfig").TryGetProperty("PublicWorkforceTaskPrice", out _));
    }

    private static PendingItem Busy(int n, int boxes)
    {
        // Confidence rises with the index, so the kept boxes must be the last ones.
        var review = Fixtures.Review(n, boxes: boxes) with
        {
            PreAnnotations = Enumerable.Range(0, boxes)
                .Select(i => new PreAnnotation { ClassId = i % 3, Left = 0.25 + (i % 600), Top = 2.5, Width = 30.75, Height = 40.5, Confidence = 0.3 + (0.6 * i / boxes) })
                .ToList(),
        };
        return Item(n, review);
    }

    [Fact]
    public void Build_BusyImage_KeepsTheMostConfidentPriorBoxesWithinGroundTruthsAttributeLimit()
    {
        var draft = Build(null, Busy(1, 1_500), Item(2, Fixtures.Review(2, boxes: 3)));

        var lines = Encoding.UTF8.GetString(draft.Manifest).TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        foreach (var text in lines)
        {
            Assert.True(text.Length <= LabelingJobFactory.MaxLineCharacters, $"line of {text.Length} characters");
            var line = System.Text.Json.Nodes.JsonNode.Parse(text)!.AsObject();
            Assert.True(line["parts-model"]!.ToJsonString().Length <= LabelingJobFactory.MaxAttributeCharacters);
            Assert.True(line["parts-model-metadata"]!.ToJsonString().Length <= LabelingJobFactory.MaxAttributeCharacters);
        }

        var busy = GroundTruthManifest.Parse(lines.Single(l => l.Contains(Fixtures.ImageKey(1), StringComparison.Ordinal)), "parts-model");
        var dropped = Assert.Single(draft.DroppedPriorBoxes);
        Assert.Equal(Fixtures.ImageKey(1), dropped.Key);
        Assert.Equal(1_500, busy.Boxes.Count + dropped.Value);
        Assert.InRange(busy.Boxes.Count, 100, 1_499);
        // The lowest kept confidence is above every dropped one: the kept boxes are the most confident.
        var threshold = 0.3 + (0.6 * (1_500 - busy.Boxes.Count) / 1_500);
        Assert.All(busy.Boxes, b => Assert.True(b.Confidence >= Math.Round(threshold, 4) - 1e-9, $"kept confidence {b.Confidence} below {threshold}"));
        Assert.True(draft.Adjustment);
    }

    [Fact]
    public void Build_OrdinaryImages_DropNoPriorBoxes()
    {
        var draft = Build(null, Busy(1, 50), Item(2, Fixtures.Review(2, boxes: 3)));

        Assert.Empty(draft.DroppedPriorBoxes);
        var parsed = GroundTruthManifest.Parse(Encoding.UTF8.GetString(draft.Manifest).Split('\n')[0], "parts-model");
        Assert.Equal(50, parsed.Boxes.Count);
    }

    [Fact]
    public void FitWithinLimits_LineTooLongEvenWithoutBoxes_ReturnsNull()
    {
        var boxes = new[] { new PixelBox(0, 1, 1, 1, 1, 0.9) };
        JsonObject Line(IReadOnlyList<PixelBox> kept) => new()
        {
            ["source-ref"] = "s3://b/" + new string('k', LabelingJobFactory.MaxLineCharacters),
            ["parts-model"] = new JsonObject { ["annotations"] = new JsonArray(kept.Select(_ => (JsonNode)new JsonObject()).ToArray()) },
            ["parts-model-metadata"] = new JsonObject(),
        };

        var (line, kept) = LabelingJobFactory.FitWithinLimits(boxes, Line, "parts-model");

        Assert.Null(line);
        Assert.Equal(0, kept);
    }
}
