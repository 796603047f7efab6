using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;

namespace EdgeLabeling.Routing.Tests;

public class LabelRecordsTests
{
    private static readonly DateTimeOffset Capture = new(2026, 11, 26, 7, 30, 15, TimeSpan.Zero);
    private static readonly DateTimeOffset Created = new DateTimeOffset(2026, 11, 26, 8, 1, 2, 345, 678, TimeSpan.Zero).AddTicks(9);
    private static readonly string Sha = new('d', 64);
    private static readonly DetectorInfo Info = new("/models/parts-detector.onnx", new string('e', 64), 320, 320, ["bolt", "nut", "washer"], "yolov8");

    private static ImageDecision Decision(RoutingOutcome outcome, string reason, params PixelBox[] boxes) =>
        new(new ImageInput("/data/cam1/frame-001.jpg", new byte[] { 1 }, "cam1", Capture), Sha, "jpg", new ImageSize(640, 480), outcome, reason, boxes);

    private static readonly PixelBox Nut = new(1, 100.123, 50.5, 40.25, 30, 0.87654);
    private static readonly PixelBox Washer = new(2, 10, 20, 30, 40, 0.91);

    [Fact]
    public void AutoLabelLine_RoundTripsThroughGroundTruthParse()
    {
        var records = new LabelRecords(Info, new RoutingOptions { SourceBucket = "edge-bucket", DeviceName = "site-7" });

        var line = records.AutoLabelLine(Decision(RoutingOutcome.AutoLabel, "all-confident", Nut, Washer), Created).ToJsonString();
        var parsed = GroundTruthManifest.Parse(line, "parts");

        Assert.Equal($"s3://edge-bucket/auto-labels/site-7/images/2026/11/26/{Sha}.jpg", parsed.SourceRef);
        Assert.Equal(new ImageSize(640, 480), parsed.Size);
        Assert.False(parsed.HumanAnnotated);
        Assert.Equal("edge-auto-site-7", parsed.JobName);
        Assert.Equal(2, parsed.Boxes.Count);
        Assert.Equal(new PixelBox(1, 100.12, 50.5, 40.25, 30, 0.8765), parsed.Boxes[0]);
        Assert.Equal("nut", parsed.ClassMap[1]);
        Assert.Equal("washer", parsed.ClassMap[2]);
        Assert.Equal("2026-11-26T08:01:02.345678", parsed.CreationDate);
    }

    [Fact]
    public void ImageKey_AutoLabeledImage_StaysOutOfTheIngestPrefix()
    {
        var records = new LabelRecords(Info, new RoutingOptions { SourceBucket = "edge-bucket", DeviceName = "site-7" });

        var auto = records.ImageKey(Decision(RoutingOutcome.AutoLabel, "all-confident", Nut));
        var audit = records.ImageKey(Decision(RoutingOutcome.Audit, "audit-sample", Nut));

        // Only images people must see may land under incoming/, where every object is expected to have a sidecar.
        Assert.Equal($"auto-labels/site-7/images/2026/11/26/{Sha}.jpg", auto);
        Assert.False(ObjectKeyLayout.TryParse(auto, out _, out var reason));
        Assert.Equal("outside-incoming-prefix", reason);
        Assert.Equal($"incoming/site-7/2026/11/26/{Sha}.jpg", audit);
        Assert.Equal($"s3://edge-bucket/{audit}", records.SourceRef(Decision(RoutingOutcome.Audit, "audit-sample", Nut)));
    }

    [Fact]
    public void AutoLabelLine_FieldNamesAndTypes_AreExactlyGroundTruths()
    {
        var records = new LabelRecords(Info, new RoutingOptions());

        var line = records.AutoLabelLine(Decision(RoutingOutcome.AutoLabel, "all-confident", Nut), Created);

        var label = line["parts"]!.AsObject();
        var size = Assert.IsType<JsonArray>(label["image_size"]);
        Assert.Single(size);
        Assert.Equal(["width", "height", "depth"], size[0]!.AsObject().Select(kv => kv.Key));
        var annotation = label["annotations"]!.AsArray().Single()!.AsObject();
        Assert.Equal(["class_id", "top", "left", "height", "width"], annotation.Select(kv => kv.Key));
        Assert.Equal(1, annotation["class_id"]!.GetValue<int>());

        var meta = line["parts-metadata"]!.AsObject();
        Assert.Equal(0.8765, meta["objects"]!.AsArray().Single()!["confidence"]!.GetValue<double>());
        Assert.Equal("nut", meta["class-map"]!["1"]!.GetValue<string>());
        Assert.Equal("groundtruth/object-detection", meta["type"]!.GetValue<string>());
        Assert.Equal("no", meta["human-annotated"]!.GetValue<string>());
        Assert.Equal("labeling-job/edge-auto-local", meta["job-name"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$", meta["creation-date"]!.GetValue<string>());
    }

    [Fact]
    public void AutoLabelLine_CarriesProvenanceKey()
    {
        var options = new RoutingOptions { DeviceName = "site-7", ClassThresholds = new Dictionary<string, double> { ["nut"] = 0.7 } };
        var records = new LabelRecords(Info, options);

        var line = records.AutoLabelLine(Decision(RoutingOutcome.AutoLabel, "all-confident", Nut), Created);

        var p = line["edgelabel-provenance"]!.AsObject();
        Assert.Equal(new string('e', 64), p["model-sha256"]!.GetValue<string>());
        Assert.Equal("parts-detector.onnx", p["model-name"]!.GetValue<string>());
        Assert.Equal("site-7", p["device"]!.GetValue<string>());
        Assert.Equal(0.5, p["auto-accept-threshold"]!.GetValue<double>());
        Assert.Equal(0.25, p["uncertain-low"]!.GetValue<double>());
        Assert.Equal(0.7, p["class-thresholds"]!["nut"]!.GetValue<double>());
        Assert.Equal(RoutingOptions.PolicyVersion, p["policy-version"]!.GetValue<string>());
        // Said once by the line itself (human-annotated "no", metadata job-name), not repeated per line.
        Assert.False(p.ContainsKey("source"));
        Assert.False(p.ContainsKey("job-name"));
    }

    [Fact]
    public void AutoLabelLine_NoBoxes_HasEmptyListsAndEmptyClassMap()
    {
        var records = new LabelRecords(Info, new RoutingOptions());

        var line = records.AutoLabelLine(Decision(RoutingOutcome.AutoLabel, "no-detections"), Created);

        Assert.Empty(line["parts"]!["annotations"]!.AsArray());
        Assert.Empty(line["parts-metadata"]!["objects"]!.AsArray());
        Assert.Empty(line["parts-metadata"]!["class-map"]!.AsObject());
        Assert.Empty(GroundTruthManifest.Parse(line.ToJsonString(), "parts").Boxes);
    }

    [Fact]
    public void AutoLabelLine_CustomAttributeName_IsUsedForBothKeys()
    {
        var records = new LabelRecords(Info, new RoutingOptions { LabelAttributeName = "widgets" });

        var line = records.AutoLabelLine(Decision(RoutingOutcome.Audit, "audit-sample", Nut), Created);

        Assert.NotNull(line["widgets"]);
        Assert.NotNull(line["widgets-metadata"]);
        Assert.Single(GroundTruthManifest.Parse(line.ToJsonString(), "widgets").Boxes);
    }

    [Fact]
    public void AutoLabelLine_WithoutBucket_UsesFileUriOfInput()
    {
        var records = new LabelRecords(Info, new RoutingOptions());

        var line = records.AutoLabelLine(Decision(RoutingOutcome.AutoLabel, "all-confident", Nut), Created);

        Assert.Equal("file:///data/cam1/frame-001.jpg", line["source-ref"]!.GetValue<string>());
    }

    [Fact]
    public void AutoLabelLine_ForReviewDecision_Throws()
    {
        var records = new LabelRecords(Info, new RoutingOptions());

        var ex = Assert.Throws<ArgumentException>(() => records.AutoLabelLine(Decision(RoutingOutcome.HumanReview, "uncertain:nut@0.41", Nut), Created));

        Assert.Contains("human-review", ex.Message);
    }

    [Fact]
    public void ReviewRecord_RoundTripsThroughContractParse()
    {
        var records = new LabelRecords(Info, new RoutingOptions { DeviceName = "site-7" });

        var record = records.ReviewRecord(Decision(RoutingOutcome.HumanReview, "uncertain:nut@0.41", Nut, Washer));
        var parsed = ReviewRecord.Parse(record.ToUtf8Json());

        Assert.Equal(Sha, parsed.ImageSha256);
        Assert.Equal($"incoming/site-7/2026/11/26/{Sha}.jpg", parsed.ImageKey);
        Assert.Equal("site-7", parsed.ThingName);
        Assert.Equal("cam1", parsed.Camera);
        Assert.Equal("frame-001.jpg", parsed.OriginalFile);
        Assert.Equal("human-review", parsed.Outcome);
        Assert.Equal("uncertain:nut@0.41", parsed.Reason);
        Assert.Equal(["bolt", "nut", "washer"], parsed.ClassNames);
        Assert.Equal([Nut, Washer], parsed.PreAnnotations.Select(p => p.ToPixelBox()));
        Assert.Equal("model", parsed.Provenance.Source);
        Assert.Equal(Capture, parsed.CaptureTime);
        Assert.True(ObjectKeyLayout.TryParse(parsed.ImageKey, out _, out _));
    }

    [Fact]
    public void ReviewRecord_ForAuditDecision_HasAuditOutcome()
    {
        var records = new LabelRecords(Info, new RoutingOptions());

        var record = records.ReviewRecord(Decision(RoutingOutcome.Audit, "audit-sample", Nut));

        Assert.Equal("audit", record.Outcome);
    }

    [Fact]
    public void ReviewRecord_ForQuarantine_Throws()
    {
        var records = new LabelRecords(Info, new RoutingOptions());
        var quarantined = Decision(RoutingOutcome.Quarantine, "empty-file") with { Size = null, Extension = "bin" };

        Assert.Throws<ArgumentException>(() => records.ReviewRecord(quarantined));
    }
}
