using System.Security.Cryptography;
using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;
using EdgeLabeling.Routing;
using SkiaSharp;

namespace EdgeLabeling.Edge.Intake;

/// <summary>
/// Optional re-encode for upload (off by default: labelers need full resolution). When the longer side is
/// above the limit the image is scaled down (EXIF orientation applied) and written as JPEG; the decision is
/// rewritten to match — new SHA-256 and key, scaled size and boxes — so sidecar and label line describe the
/// bytes that are actually uploaded.
/// </summary>
public sealed class UploadDownscaler(int maxSide, int jpegQuality)
{
    private readonly ImageDecoder _decoder = new();

    /// <summary>Returns the decision and bytes to queue; unchanged when the image is already small enough.</summary>
    public (ImageDecision Decision, byte[] Bytes) Apply(ImageDecision decision, byte[] bytes)
    {
        if (maxSide <= 0 || decision.Size is not { } size || Math.Max(size.Width, size.Height) <= maxSide)
        {
            return (decision, bytes);
        }

        var scale = (double)maxSide / Math.Max(size.Width, size.Height);
        var width = Math.Max(1, (int)Math.Round(size.Width * scale));
        var height = Math.Max(1, (int)Math.Round(size.Height * scale));
        using var decoded = _decoder.Decode(bytes, width, height);
        using var resized = decoded.Bitmap.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul), new SKSamplingOptions(SKCubicResampler.Mitchell))
            ?? throw new InvalidOperationException($"could not resize {decision.Input.SourcePath} to {width}x{height}");
        using var image = SKImage.FromBitmap(resized);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, jpegQuality);
        var jpeg = data.ToArray();
        var sx = (double)width / size.Width;
        var sy = (double)height / size.Height;
        var boxes = decision.Boxes.Select(b => b with { Left = b.Left * sx, Top = b.Top * sy, Width = b.Width * sx, Height = b.Height * sy }).ToList();
        var rewritten = decision with
        {
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(jpeg)),
            Extension = "jpg",
            Size = new ImageSize(width, height, size.Depth),
            Boxes = boxes,
        };
        return (rewritten, jpeg);
    }
}
