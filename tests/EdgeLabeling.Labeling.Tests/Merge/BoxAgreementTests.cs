using CsCheck;
using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;
using EdgeLabeling.Labeling.Merge;

namespace EdgeLabeling.Labeling.Tests.Merge;

public sealed class BoxAgreementTests
{
    [Fact]
    public void Iou_HalfOverlappingSquares_IsOneThird()
    {
        var a = new PixelBox(0, 0, 0, 10, 10, 1);
        var b = new PixelBox(0, 5, 0, 10, 10, 1);

        Assert.Equal(50.0 / 150.0, BoxMath.IoU(a, b), 10);
    }

    [Fact]
    public void Iou_DisjointOrTouching_IsZero()
    {
        Assert.Equal(0, BoxMath.IoU(new PixelBox(0, 0, 0, 10, 10, 1), new PixelBox(0, 10, 0, 10, 10, 1)));
    }

    [Fact]
    public void Match_DifferentClassOrLowOverlap_DoesNotCount()
    {
        var model = new[] { new PixelBox(0, 0, 0, 10, 10, 1), new PixelBox(1, 100, 100, 10, 10, 1) };
        var human = new[] { new PixelBox(1, 0, 0, 10, 10, 1), new PixelBox(1, 104, 100, 10, 10, 1) };

        Assert.Equal(0, BoxAgreement.Match(model, human, 0.5));
    }

    [Fact]
    public void Match_OneHumanBoxForTwoModelBoxes_MatchesOnlyOnce()
    {
        var model = new[] { new PixelBox(0, 0, 0, 10, 10, 1), new PixelBox(0, 1, 0, 10, 10, 1) };
        var human = new[] { new PixelBox(0, 0, 0, 10, 10, 1) };

        var agreement = new BoxAgreement();
        Assert.Equal(1, agreement.Add(model, human));
        Assert.Equal(0.5, agreement.Precision);
        Assert.Equal(1.0, agreement.Recall);
    }

    [Fact]
    public void KeyOf_ContentAddressedKey_IsTheShaWhateverTheBucket()
    {
        var sha = new string('a', 64);

        Assert.Equal(sha, ImageIdentity.KeyOf($"s3://one/incoming/t/2026/01/01/{sha}.jpg"));
        Assert.Equal(sha, ImageIdentity.KeyOf($"s3://two/other/{sha.ToUpperInvariant()}.png"));
        Assert.Equal("s3://b/photos/cat.jpg", ImageIdentity.KeyOf("s3://b/photos/cat.jpg"));
        Assert.Equal(ImageIdentity.Fingerprint(sha), ImageIdentity.Fingerprint(ImageIdentity.KeyOf($"s3://two/x/{sha}.jpg")));
    }

    [Fact]
    public void FingerprintOf_AnySourceRef_IsTheFingerprintOfItsKey()
    {
        // The allocation-free path must join exactly like KeyOf + Fingerprint: upper/mixed-case SHAs, other
        // file names, no folder, no extension, 63/65 hex digits and non-ASCII names included.
        var genHex = Gen.Char["0123456789abcdefABCDEF"].Array[62, 66].Select(c => new string(c));
        var genName = Gen.OneOf(genHex, genHex.Select(h => h + ".jpg"), genHex.Select(h => h + ".tar.gz"), Gen.String, Gen.Const("café.png"), Gen.Const(""));
        var genPrefix = Gen.OneOfConst("s3://incoming/incoming/cam/2026/11/26/", "s3://b/", "", "folder/", "s3://b/dir.with.dots/");
        Gen.Select(genPrefix, genName).Sample((prefix, name) =>
            ImageIdentity.FingerprintOf(prefix + name) == ImageIdentity.Fingerprint(ImageIdentity.KeyOf(prefix + name)), iter: 5000);
    }

    [Fact]
    public void Match_FewOrManyBoxes_PairsLikeTheGreedyBestOverlapFirstReference()
    {
        // Up to 64 candidate pairs are kept on the stack, more go to the heap: both must match the plain algorithm.
        var genBox = Gen.Select(Gen.Int[0, 2], Gen.Int[0, 40], Gen.Int[0, 40], Gen.Int[1, 30], Gen.Int[1, 30])
            .Select((c, l, t, w, h) => new PixelBox(c, l, t, w, h, 0));
        Gen.Select(genBox.Array[0, 14], genBox.Array[0, 14]).Sample((model, human) =>
            BoxAgreement.Match(model, human, 0.3) == ReferenceMatch(model, human, 0.3), iter: 3000);
    }

    private static int ReferenceMatch(PixelBox[] model, PixelBox[] human, double threshold)
    {
        var pairs = new List<(double Iou, int M, int H)>();
        for (var m = 0; m < model.Length; m++)
        {
            for (var h = 0; h < human.Length; h++)
            {
                if (model[m].ClassId == human[h].ClassId && BoxMath.IoU(model[m], human[h]) is var iou && iou >= threshold)
                {
                    pairs.Add((iou, m, h));
                }
            }
        }

        pairs.Sort((a, b) => b.Iou.CompareTo(a.Iou));
        var usedM = new bool[model.Length];
        var usedH = new bool[human.Length];
        var count = 0;
        foreach (var (_, m, h) in pairs)
        {
            if (!usedM[m] && !usedH[h])
            {
                usedM[m] = usedH[h] = true;
                count++;
            }
        }

        return count;
    }
}
