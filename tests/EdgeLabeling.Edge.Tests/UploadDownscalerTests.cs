using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Intake;
using EdgeLabeling.Routing;
using SkiaSharp;

namespace EdgeLabeling.Edge.Tests;

public sealed class UploadDownscalerTests
{
    private static byte[] Jpeg(int w, int h)
    {
        using var bmp = new SKBitmap(w, h);
        using (var c = new SKCanvas(bmp))
        {
            c.Clear(SKColors.DarkGray);
            using var p = new SKPaint { Color = SKColors.Orange };
            c.DrawRect(w / 4, h / 4, w / 2, h / 2, p);
        }

        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    private static ImageDecision Decision(byte[] bytes, int w, int h) =>
        new(new ImageInput("/in/a.jpg", bytes, "cam0", DateTimeOffset.UnixEpoch), Bytes.Sha(bytes), "jpg", new ImageSize(w, h), RoutingOutcome.HumanReview, "uncertain:nut@0.41",
            [new PixelBox(1, 400, 300, 200, 100, 0.41)]);

    [Fact]
    public void Apply_WhenLargerThanMaxSide_ScalesImageBoxesAndRehashes()
    {
        var bytes = Jpeg(1600, 1200);
        var (d, jpeg) = new UploadDownscaler(800, 85).Apply(Decision(bytes, 1600, 1200), bytes);
        Assert.Equal(new ImageSize(800, 600), d.Size);
        Assert.Equal(Bytes.Sha(jpeg), d.Sha256);
        Assert.NotEqual(Bytes.Sha(bytes), d.Sha256);
        var box = Assert.Single(d.Boxes);
        Assert.Equal((200.0, 150.0, 100.0, 50.0), (box.Left, box.Top, box.Width, box.Height));
        using var decoded = SKBitmap.Decode(jpeg);
        Assert.Equal((800, 600), (decoded.Width, decoded.Height));
    }

    [Fact]
    public void Apply_WhenAlreadySmallOrDisabled_ReturnsInputUnchanged()
    {
        var bytes = Jpeg(320, 240);
        var decision = Decision(bytes, 320, 240);
        Assert.Same(bytes, new UploadDownscaler(800, 85).Apply(decision, bytes).Bytes);
        Assert.Same(decision, new UploadDownscaler(0, 85).Apply(decision, bytes).Decision);
    }
}
