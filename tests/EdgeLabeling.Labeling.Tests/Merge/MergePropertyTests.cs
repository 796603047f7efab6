using System.Text;
using System.Text.Json;
using CsCheck;
using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;
using EdgeLabeling.Labeling.Coco;
using EdgeLabeling.Labeling.Merge;

namespace EdgeLabeling.Labeling.Tests.Merge;

public sealed class MergePropertyTests
{
    private static readonly string[] Classes = ["bolt", "nut", "washer", "spring"];

    private static readonly Gen<PixelBox> GenBox =
        Gen.Select(Gen.Int[0, 3], Gen.Double[0, 600], Gen.Double[0, 400], Gen.Double[1, 200], Gen.Double[1, 200])
            .Select((c, l, t, w, h) => new PixelBox(c, l, t, w, h, 0));

    private static readonly Gen<PixelBox[]> GenBoxes = GenBox.Array[0, 8];

    [Fact]
    public void Iou_AnyTwoBoxes_IsSymmetricAndBetweenZeroAndOne()
    {
        Gen.Select(GenBox, GenBox).Sample((a, b) =>
        {
            var ab = BoxMath.IoU(a, b);
            return ab >= 0 && ab <= 1 + 1e-12 && Math.Abs(ab - BoxMath.IoU(b, a)) < 1e-12 && Math.Abs(BoxMath.IoU(a, a) - 1) < 1e-9;
        }, iter: 2_000);
    }

    [Fact]
    public void Match_BoxesAgainstThemselvesAndOthers_IsPerfectAndNeverExceedsEitherCount()
    {
        Gen.Select(GenBoxes, GenBoxes).Sample((a, b) =>
        {
            var m = BoxAgreement.Match(a, b, 0.5);
            return BoxAgreement.Match(a, a, 0.5) == a.Length && m <= Math.Min(a.Length, b.Length) && m == BoxAgreement.Match(b, a, 0.5);
        }, iter: 1_000);
    }

    [Fact]
    public async Task BuildAsync_AnyBoxes_DatasetLineRoundTripsAndCocoBboxIsLeftTopWidthHeight()
    {
        await Gen.Select(GenBoxes, Gen.Int[1, 2000], Gen.Int[1, 2000]).SampleAsync(async (boxes, width, height) =>
        {
            var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(width * 7919 + height)));
            var line = GroundTruthManifest.BuildLine($"s3://b/incoming/t/2026/11/26/{sha}.jpg", "parts-human", new ImageSize(width, height), boxes, Classes, true, "labeling-job/j", DateTimeOffset.UnixEpoch).ToJsonString();
            var source = new ManifestSource("mem", _ => Task.FromResult<Stream>(new MemoryStream(Encoding.UTF8.GetBytes(line + "\n"))));
            using var dataset = new MemoryStream();
            using var coco = new MemoryStream();

            await new DatasetBuilder().BuildAsync(new DatasetBuildRequest { HumanSources = [source], AutoLabelSources = [] }, dataset, coco);

            var back = GroundTruthManifest.Parse(Encoding.UTF8.GetString(dataset.ToArray()).Trim(), "parts");
            Assert.Equal(boxes.Length, back.Boxes.Count);
            using var doc = JsonDocument.Parse(coco.ToArray());
            var annotations = doc.RootElement.GetProperty("annotations").EnumerateArray().ToList();
            Assert.Equal(boxes.Length, annotations.Count);
            Assert.Equal(boxes.Length, annotations.Select(a => a.GetProperty("id").GetInt64()).Distinct().Count());
            for (var i = 0; i < boxes.Length; i++)
            {
                var bbox = annotations[i].GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()).ToArray();
                Assert.Equal(Math.Round(boxes[i].Left, 2), bbox[0], 2);
                Assert.Equal(Math.Round(boxes[i].Top, 2), bbox[1], 2);
                Assert.Equal(Math.Round(boxes[i].Width, 2), bbox[2], 2);
                Assert.Equal(Math.Round(boxes[i].Height, 2), bbox[3], 2);
                Assert.True(Math.Abs(bbox[2] * bbox[3] - annotations[i].GetProperty("area").GetDouble()) < 1e-3, "area is width × height of the written bbox");
                Assert.Equal(CocoExportWriter.CategoryId(boxes[i].ClassId), annotations[i].GetProperty("category_id").GetInt32());
                Assert.Equal(back.Boxes[i].ClassId, boxes[i].ClassId);
            }
        }, iter: 100);
    }
}
