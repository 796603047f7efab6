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
}
