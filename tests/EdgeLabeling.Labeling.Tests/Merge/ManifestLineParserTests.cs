using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using static EdgeLabeling.Labeling.Tests.Merge.OutputFixtures;

namespace EdgeLabeling.Labeling.Tests.Merge;

public sealed class ManifestLineParserTests
{
    private static ManifestLine P(string line) => ManifestLineParser.Parse(Encoding.UTF8.GetBytes(line));

    [Theory]
    [InlineData("{\"source-ref\": \"s3://x/y.jpg\", \"parts-human\": ", "not-json")]
    [InlineData("not json at all", "not-json")]
    [InlineData("12 garbage", "not-json")]
    [InlineData("[1,2]", "not-an-object")]
    [InlineData("""{"parts-human":{"annotations":[],"image_size":[{"width":1,"height":1}]},"parts-human-metadata":{}}""", "no-source-ref")]
    [InlineData("""{"source-ref":42}""", "no-source-ref")]
    public void Parse_BrokenLine_NamesTheProblem(string line, string problem)
    {
        Assert.Equal(problem, P(line).Problem);
    }

    [Fact]
    public void Parse_RealOutputInAnyKeyOrder_ReadsEveryAttributeWithItsMetadata()
    {
        var line = P(RealStyle(1));

        Assert.Null(line.Problem);
        Assert.Equal(SourceRef(1), line.SourceRef);
        var human = line.Find("parts-human")!;
        Assert.True(human.IsUsableBoxLabel);
        Assert.Equal(GroundTruthManifest.ObjectDetectionType, human.Type);
        Assert.True(human.HumanAnnotated);
        Assert.Equal(Job, human.JobName);
        Assert.Equal(new ImageSize(1024, 768, 3), human.Size);
        Assert.Equal(2, human.Boxes.Count);
        Assert.Equal(187.39999999999998, human.Boxes[0].Top);
        Assert.Equal("washer", human.ClassMap[2]);
        var prior = line.Find("parts-model")!;
        Assert.False(prior.HumanAnnotated);
        Assert.Equal(0.41, prior.Boxes[0].Confidence);
        Assert.Equal("uncertain-box", line.RoutingReason);
    }

    [Fact]
    public void Parse_NumbersAsStringsAndImageSizeAsObject_AreAccepted()
    {
        var line = P("""{"source-ref":"s3://b/a.jpg","cat":{"image_size":{"width":"640","height":480},"annotations":[{"class_id":"1","left":"10.5","top":2,"width":3,"height":4}]},"cat-metadata":{"objects":[{"confidence":"0.5"}],"class-map":{"1":"nut"},"type":"groundtruth/object-detection"}}""");

        var cat = line.Find("cat")!;
        Assert.Null(cat.LabelError);
        Assert.Equal(new ImageSize(640, 480), cat.Size);
        Assert.Equal(new PixelBox(1, 10.5, 2, 3, 4, 0.5), cat.Boxes[0]);
    }

    [Fact]
    public void Parse_NumbersInEveryWrittenForm_AreTheValuesDoubleParseGives()
    {
        // Plain decimals take a fast path; exponents, long mantissas and the rest the general parser. Both must give
        // exactly what double.Parse gives for the text, bit for bit.
        var rng = new Random(7);
        var texts = new List<string> { "0", "-0", "0.0", "40.5", "455.6", "0.41", "0.1", "0.7", "1e2", "1.5E-3", "123456789012345", "1234567890123456", "0.000000000000001", "9007199254740993", "-3.25", "100.00", "0.30000000000000004" };
        for (var i = 0; i < 3_000; i++)
        {
            var v = (rng.NextDouble() - 0.2) * Math.Pow(10, rng.Next(-6, 9));
            texts.Add(v.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            texts.Add(v.ToString("F" + rng.Next(0, 8).ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture));
            texts.Add(rng.Next(-5000, 5000).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        foreach (var text in texts)
        {
            var line = P($$$"""{"source-ref":"s3://b/a.jpg","cat":{"image_size":[{"width":640,"height":480}],"annotations":[{"class_id":1,"left":{{{text}}},"top":0,"width":1,"height":1}]},"cat-metadata":{"objects":[{"confidence":{{{text}}}}],"class-map":{"1":"nut"},"type":"groundtruth/object-detection"}}""");

            var expected = double.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
            var box = Assert.Single(line.Find("cat")!.Boxes);
            Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(box.Left), $"left {text}: expected {expected:R}, got {box.Left:R}");
            Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(box.Confidence), $"confidence {text}");
        }
    }

    [Fact]
    public void Parse_OneBrokenAttribute_DoesNotSpoilTheOther()
    {
        var broken = RealStyle(3).Replace("\"left\":455.6", "\"left\":\"far left\"", StringComparison.Ordinal);

        var line = P(broken);

        Assert.Null(line.Problem);
        Assert.Contains("'left' is not a number", line.Find("parts-human")!.LabelError, StringComparison.Ordinal);
        Assert.True(line.Find("parts-model")!.IsUsableBoxLabel);
    }

    [Fact]
    public void Parse_EscapedKeysAndByteOrderMark_AreReadLikePlainOnes()
    {
        var line = P("\uFEFF" + """{"source\u002Dref":"s3://b/a.jpg","parts\u002Dhuman":{"image_size":[{"width":2,"height":2}],"annotations":[]},"parts-human\u002Dmetadata":{"type":"groundtruth/object-detection","human-annotated":"yes"}}""");

        Assert.Null(line.Problem);
        Assert.Equal("s3://b/a.jpg", line.SourceRef);
        Assert.True(line.Find("parts-human")!.IsUsableBoxLabel);
    }

    [Fact]
    public void ReadSourceRef_AnyLine_AgreesWithTheFullParse()
    {
        Gen.OneOfConst(RealStyle(1), DocsStyle(2), Failed(3), Auto(4), "[1]", "nope", """{"a":1}""").Sample(line =>
            ManifestLineParser.ReadSourceRef(Encoding.UTF8.GetBytes(line)) == P(line).SourceRef);
    }

    [Fact]
    public void Parse_IntoOneReusedLine_SaysExactlyWhatAFreshParseSays()
    {
        // The merge and the export parse every line into one reused ManifestLine: nothing of the line before
        // (attributes, boxes, class names, confidences, problems, provenance) may leak into the next.
        string[] pool =
        [
            RealStyle(1), DocsStyle(2), Failed(3), Auto(4), Empty(5), Adjusted(6), "[1]", "nope", """{"a":1}""", "{\"source-ref\":42}",
            RealStyle(7).Replace("\"left\":455.6", "\"left\":\"far left\"", StringComparison.Ordinal),
            """{"source-ref":"s3://b/a.jpg","cat":{"image_size":{"width":"640","height":480},"annotations":[{"class_id":"1","left":"10.5","top":2,"width":3,"height":4}]},"cat-metadata":{"objects":[{"confidence":"0.5"}],"class-map":{"1":"nut"},"type":"groundtruth/object-detection"}}""",
            """{"source-ref":"s3://b/c.jpg","parts-human":3,"parts-human-metadata":{"type":"groundtruth/image-classification","class-name":"bolt"},"reason":"audit-sample"}""",
            """{"source-ref":"s3://b/d.jpg","parts-human":{"annotations":[{"class_id":0,"left":1,"top":1,"width":1,"height":1}]},"parts-human-metadata":{"type":"groundtruth/object-detection"}}""",
            "\uFEFF" + """{"source\u002Dref":"s3://b/e.jpg","parts\u002Dhuman":{"image_size":[{"width":2,"height":2}],"annotations":[]},"parts-human\u002Dmetadata":{"type":"groundtruth/object-detection","human-annotated":"yes"}}""",
        ];
        Gen.Int[0, pool.Length - 1].Array[1, 12].Sample(order =>
        {
            var reused = ManifestLine.CreateReusable();
            foreach (var i in order)
            {
                var bytes = Encoding.UTF8.GetBytes(pool[i]);
                var again = ManifestLineParser.Parse(bytes, reused);
                Assert.Same(reused, again);
                Assert.Equal(Describe(ManifestLineParser.Parse(bytes)), Describe(again));
            }
        }, iter: 300);
    }

    /// <summary>Everything a reader can see of a parsed line, and what the label selection makes of it, as text.</summary>
    private static string Describe(ManifestLine line)
    {
        var sb = new StringBuilder();
        sb.Append(line.Problem).Append('|').Append(line.ProblemDetail).Append('|').Append(line.SourceRef).Append('|')
            .Append(Encoding.UTF8.GetString(line.Provenance.Span)).Append('|').Append(line.EdgeReason).Append('|').Append(line.RoutingReason).Append('\n');
        foreach (var a in line.Attributes)
        {
            sb.Append(a.Name).Append(' ').Append(a.HasLabel).Append(a.LabelIsObject).Append(a.HasMetadata).Append(' ').Append(a.Type).Append(' ').Append(a.Size)
                .Append(' ').Append(a.HumanAnnotated).Append(' ').Append(a.JobName).Append(' ').Append(a.CreationDate).Append(' ').Append(a.AdjustmentStatus)
                .Append(' ').Append(a.HasFailureReason).Append(' ').Append(a.LabelError).Append(' ').Append(a.IsUsableBoxLabel)
                .Append(" boxes ").AppendJoin(';', a.Boxes).Append(" classes ").AppendJoin(';', a.ClassMap.OrderBy(kv => kv.Key)).Append('\n');
        }

        foreach (var role in new[] { LabelRole.Human, LabelRole.Model })
        {
            var choice = LabelSelection.Choose(line, "parts", role);
            sb.Append(role).Append(": ").Append(choice.Label?.Name).Append('/').Append(choice.Prior?.Name).Append('/').Append(choice.Reason).Append('/').Append(choice.Detail).Append('\n');
        }

        return sb.ToString();
    }

    [Fact]
    public void GroundTruthManifestParse_UsesTheSameParserAndKeepsItsMessages()
    {
        var ex = Assert.Throws<FormatException>(() => GroundTruthManifest.Parse(DocsStyle(1), "parts"));
        Assert.Contains("has no 'parts' label", ex.Message, StringComparison.Ordinal);

        var label = GroundTruthManifest.Parse(DocsStyle(1), "parts-human");
        Assert.Equal("nut", label.ClassMap[1]);
        Assert.Equal(SourceRef(1), label.Raw["source-ref"]!.GetValue<string>());
    }
}

public sealed class LabelSelectionTests
{
    private static LabelChoice Choose(string line, LabelRole role = LabelRole.Human) =>
        LabelSelection.Choose(ManifestLineParser.Parse(Encoding.UTF8.GetBytes(line)), "parts", role);

    /// <summary>A bounding-box output line of an earlier job whose label attribute was "category".</summary>
    internal static string Foreign(int i, string attribute = "category", string date = "2026-10-01T09:00:00.000000", string human = "yes") =>
        DocsStyle(i).Replace("parts-human", attribute, StringComparison.Ordinal).Replace("2026-11-26T07:01:02.654321", date, StringComparison.Ordinal).Replace("\"human-annotated\":\"yes\"", $"\"human-annotated\":\"{human}\"", StringComparison.Ordinal);

    [Fact]
    public void Choose_ForeignAttributeName_FindsTheBoxLabelFromItsMetadataType()
    {
        var choice = Choose(Foreign(1));

        Assert.Equal("category", choice.Label!.Name);
        Assert.Single(choice.Label.Boxes);
    }

    [Fact]
    public void Choose_ChainedOutputWithTwoHumanLabels_TakesTheNewest()
    {
        // A chained job's output carries the labels it was given ("older") beside the ones it made ("newer").
        var line = JsonNode.Parse(Foreign(1, "older", "2026-01-01T00:00:00.000000"))!.AsObject();
        var newer = JsonNode.Parse(Foreign(1, "newer", "2026-06-01T00:00:00.000000"))!.AsObject();
        line["newer"] = newer["newer"]!.DeepClone();
        line["newer-metadata"] = newer["newer-metadata"]!.DeepClone();

        Assert.Equal("newer", Choose(line.ToJsonString()).Label!.Name);
    }

    [Fact]
    public void Choose_HumanAndModelLabels_PeopleForJobOutputAndTheModelForAutoLabels()
    {
        var line = JsonNode.Parse(Foreign(1, "people"))!.AsObject();
        var model = JsonNode.Parse(Foreign(1, "machine", human: "no"))!.AsObject();
        line["machine"] = model["machine"]!.DeepClone();
        line["machine-metadata"] = model["machine-metadata"]!.DeepClone();

        var human = Choose(line.ToJsonString());
        Assert.Equal("people", human.Label!.Name);
        Assert.Equal("machine", human.Prior!.Name);
        Assert.Equal("machine", Choose(line.ToJsonString(), LabelRole.Model).Label!.Name);
    }

    [Fact]
    public void Choose_ClassificationLabelOnly_IsNotABoundingBoxAndNamesTheAttribute()
    {
        var choice = Choose("""{"source-ref":"s3://b/a.jpg","category":1,"category-metadata":{"class-name":"bolt","type":"groundtruth/image-classification","human-annotated":"yes"}}""");

        Assert.Equal("not-bounding-box", choice.Reason);
        Assert.Contains("'category'", choice.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("parts-human")]
    [InlineData("category")]
    public void Choose_FailedObjectUnderAnyName_IsUnlabeled(string attribute)
    {
        var choice = Choose(Failed(1).Replace("parts-human", attribute, StringComparison.Ordinal));

        Assert.Equal("failed-object", choice.Reason);
        Assert.True(choice.IsUnlabeled);
    }

    [Fact]
    public void Choose_OnlyThePriorInJobOutput_IsNoLabelNotThePrior()
    {
        var line = JsonNode.Parse(RealStyle(1))!.AsObject();
        line.Remove("parts-human");
        line.Remove("parts-human-metadata");

        Assert.Equal("no-label", Choose(line.ToJsonString()).Reason);
        Assert.Equal("parts-model", Choose(line.ToJsonString(), LabelRole.Model).Label!.Name);
    }
}

public sealed class DatasetLineWriterTests
{
    private static readonly string[] Classes = ["bolt", "nut", "washer", "spring"];

    [Fact]
    public void Write_AnyBoxes_IsByteForByteWhatBuildLineWrites()
    {
        // The streaming writer replaced BuildLine + ToJsonString on the merge path: same bytes, so shards and
        // exports written before and after compare equal.
        var genBox = Gen.Select(Gen.Int[0, 3], Gen.Double[0, 5000], Gen.Double[0, 5000], Gen.Double[0, 900], Gen.Double[0, 900], Gen.Double[0, 1])
            .Select((c, l, t, w, h, conf) => new PixelBox(c, l, t, w, h, conf));
        Gen.Select(genBox.Array[0, 6], Gen.Int[1, 5000], Gen.Int[1, 5000]).Sample((boxes, width, height) =>
        {
            var provenance = new JsonObject { ["source"] = "human", ["job-name"] = "job-7" };
            var expected = GroundTruthManifest.BuildLine("s3://b/incoming/t/x.jpg", "parts", new ImageSize(width, height), boxes, Classes, true, "labeling-job/job-7",
                new DateTimeOffset(2026, 11, 26, 7, 1, 2, TimeSpan.Zero), [new KeyValuePair<string, JsonNode?>(DatasetProvenance.Key, provenance)]).ToJsonString();
            var input = GroundTruthManifest.BuildLine("s3://b/incoming/t/x.jpg", "parts-human", new ImageSize(width, height), boxes, Classes, true, "labeling-job/job-7",
                new DateTimeOffset(2026, 11, 26, 7, 1, 2, TimeSpan.Zero)).ToJsonString();
            var line = ManifestLineParser.Parse(Encoding.UTF8.GetBytes(input));

            using var ms = new MemoryStream();
            using (var writer = new DatasetLineWriter(ms))
            {
                writer.Write(line, line.Find("parts-human")!, "parts", human: true, DateTimeOffset.UnixEpoch);
            }

            return Encoding.UTF8.GetString(ms.ToArray()) == expected + "\n";
        }, iter: 500);
    }

    [Theory]
    [InlineData(1e13, 0.5)]
    [InlineData(123456789012.345, 0.99999)]
    [InlineData(1e17, 1e-7)]
    [InlineData(0.005, 0.00005)]
    public void Write_NumbersBeyondTheShortPath_AreStillWhatBuildLineWrites(double coordinate, double confidence)
    {
        PixelBox[] boxes = [new(1, coordinate, coordinate / 3, coordinate * 2, 0.125, confidence)];
        var stamp = new DateTimeOffset(2026, 11, 26, 7, 1, 2, TimeSpan.Zero);
        var expected = GroundTruthManifest.BuildLine("s3://b/x.jpg", "parts", new ImageSize(10, 10), boxes, Classes, true, "labeling-job/j", stamp,
            [new KeyValuePair<string, JsonNode?>(DatasetProvenance.Key, new JsonObject { ["source"] = "human", ["job-name"] = "j" })]).ToJsonString();
        var line = ManifestLineParser.Parse(Encoding.UTF8.GetBytes(GroundTruthManifest.BuildLine("s3://b/x.jpg", "parts-human", new ImageSize(10, 10), boxes, Classes, true, "labeling-job/j", stamp).ToJsonString()));

        using var ms = new MemoryStream();
        using (var writer = new DatasetLineWriter(ms))
        {
            writer.Write(line, line.Find("parts-human")!, "parts", human: true, DateTimeOffset.UnixEpoch);
        }

        Assert.Equal(expected + "\n", Encoding.UTF8.GetString(ms.ToArray()));
    }

    [Fact]
    public void Write_EdgeProvenance_IsKeptAndWhoLabeledItIsAdded()
    {
        var line = ManifestLineParser.Parse(Encoding.UTF8.GetBytes(Adjusted(1).Replace("{\"source-ref\"", "{\"reason\":\"audit-sample\",\"provenance\":{\"source\":\"model\",\"device\":\"cam\"},\"source-ref\"", StringComparison.Ordinal)));

        using var ms = new MemoryStream();
        using (var writer = new DatasetLineWriter(ms))
        {
            writer.Write(line, line.Find("parts-human")!, "parts", human: true, DateTimeOffset.UnixEpoch);
        }

        var p = JsonNode.Parse(ms.ToArray())![DatasetProvenance.Key]!;
        Assert.Equal("cam", p["device"]!.GetValue<string>());
        Assert.Equal("audit-sample", p["edge-reason"]!.GetValue<string>());
        Assert.Equal("human", p["source"]!.GetValue<string>());
        Assert.Equal(Job, p["job-name"]!.GetValue<string>());
        Assert.Equal("adjusted", p["adjustment-status"]!.GetValue<string>());
    }
}

public sealed class Utf8LineReaderTests
{
    private static async Task<List<(long, string)>> ReadAsync(byte[] bytes)
    {
        var lines = new List<(long, string)>();
        await foreach (var (n, line) in Utf8LineReader.ReadAsync(new MemoryStream(bytes)))
        {
            lines.Add((n, Encoding.UTF8.GetString(line.Span)));
        }

        return lines;
    }

    [Fact]
    public async Task ReadAsync_CrlfBlankLinesAndNoFinalNewline_YieldsTheLinesWithTheirNumbers()
    {
        var lines = await ReadAsync(Encoding.UTF8.GetBytes("\uFEFFa\r\n\r\n  \nb\nc"));

        Assert.Equal([(1L, "a"), (4L, "b"), (5L, "c")], lines);
    }

    [Fact]
    public async Task ReadAsync_LinesLongerThanTheBuffer_ComeBackWhole()
    {
        var longLine = new string('x', 300_000);

        var lines = await ReadAsync(Encoding.UTF8.GetBytes("short\n" + longLine + "\nend\n"));

        Assert.Equal(["short", longLine, "end"], lines.Select(l => l.Item2));
    }

    [Fact]
    public async Task ReadAsync_LineOverTheGroundTruthLimit_FailsNamingIt()
    {
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(Encoding.UTF8.GetBytes("a\n" + new string('x', Utf8LineReader.MaxLineBytes * 2))));

        Assert.Contains("line 2", ex.Message, StringComparison.Ordinal);
    }
}
