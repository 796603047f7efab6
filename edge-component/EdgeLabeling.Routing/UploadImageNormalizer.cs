using System.Security.Cryptography;
using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;
using SkiaSharp;

namespace EdgeLabeling.Routing;

/// <summary>
/// Makes the image bytes that leave the device agree with the decision that describes them, so that every
/// box (the model's pre-labels, the labelers' boxes, the automatic labels, the dataset and its COCO export)
/// lives in one frame: the stored pixels of the image in the bucket.
/// <list type="bullet">
/// <item>Orientation. Decisions are made on the upright (EXIF-applied) image: its size and boxes are in
/// that frame. An image whose EXIF Orientation is 2-8 is re-encoded with the orientation applied to the
/// pixels and without the tag (same format: JPEG at <c>jpegQuality</c>, PNG lossless), so its stored pixels
/// are that frame. Frames with no tag or Orientation 1 are sent as they are, byte for byte. A PNG eXIf chunk,
/// which the decoder does not apply (so the boxes are in the stored frame already), is dropped; pixels and
/// every other chunk are kept byte for byte.</item>
/// <item>Size (optional, off by default: labelers need full resolution). Above <c>maxSide</c> the upright
/// image is scaled down and written as JPEG, and the boxes are scaled with it.</item>
/// </list>
/// A rewritten decision gets the new bytes' SHA-256 (its content address and key), extension, size and boxes.
/// </summary>
/// <remarks>
/// Why the pixels and not the boxes. Ground Truth's worker page shows the stored pixels: its CORS requirement
/// exists so that it can keep preventing the browser's EXIF rotation ("CORS Requirement for Input Image Data",
/// SageMaker developer guide, sms-cors-update). Pre-labels in the upright frame would sit in the wrong place on a
/// tagged image, and people's boxes would come back in another frame than the automatic labels. Converting boxes
/// into the stored frame instead would leave tagged images in the dataset, and every later reader (training
/// code, viewers, the COCO export's users) would have to know that its boxes ignore the tag. An image without
/// the tag has one frame for every reader; only tagged frames pay for a re-encode, untagged ones go byte for byte.
/// </remarks>
public sealed class UploadImageNormalizer
{
    /// <summary>Quarantine reason of a frame that decoded for the model but not at full size for the re-encode.</summary>
    public const string ReencodeFailedReason = "upload-reencode-failed";

    /// <summary>JPEG quality for an upright re-encode when the caller does not choose one.</summary>
    public const int DefaultJpegQuality = 90;

    private readonly int _maxSide;
    private readonly int _jpegQuality;
    private readonly ImageDecoder _decoder = new();

    /// <param name="maxSide">Longest side of an uploaded image; 0 keeps full resolution.</param>
    /// <param name="jpegQuality">JPEG quality (1-100) of re-encoded images.</param>
    public UploadImageNormalizer(int maxSide = 0, int jpegQuality = DefaultJpegQuality)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSide);
        ArgumentOutOfRangeException.ThrowIfLessThan(jpegQuality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(jpegQuality, 100);
        _maxSide = maxSide;
        _jpegQuality = jpegQuality;
    }

    /// <summary>
    /// The decision and bytes to upload; both returned unchanged (the same instances) when the image is
    /// already upright and small enough, or when the decision has no image (quarantine, duplicate). A frame
    /// that cannot be re-encoded comes back as a quarantine decision (<see cref="ReencodeFailedReason"/>) with
    /// its own bytes, so it is set aside rather than uploaded in another frame than its boxes, or retried forever.
    /// </summary>
    public (ImageDecision Decision, ReadOnlyMemory<byte> Bytes) Apply(ImageDecision decision, ReadOnlyMemory<byte> bytes)
    {
        ArgumentNullException.ThrowIfNull(decision);
        if (decision.Outcome is RoutingOutcome.Quarantine or RoutingOutcome.Duplicate || decision.Size is not { } size)
        {
            return (decision, bytes);
        }

        Encoded? upload;
        try
        {
            upload = Encode(bytes, size);
        }
        catch (Exception ex) when (ex is ImageRejectedException or InvalidOperationException)
        {
            var detail = ex is ImageRejectedException rejected ? $"{rejected.Reason}: {ex.Message}" : ex.Message;
            return (decision with { Outcome = RoutingOutcome.Quarantine, Reason = ReencodeFailedReason, Boxes = [], Detail = detail }, bytes);
        }

        if (upload is null)
        {
            return (decision, bytes);
        }

        var sx = (double)upload.Size.Width / size.Width;
        var sy = (double)upload.Size.Height / size.Height;
        var boxes = sx == 1 && sy == 1
            ? decision.Boxes
            : decision.Boxes.Select(b => b with { Left = b.Left * sx, Top = b.Top * sy, Width = b.Width * sx, Height = b.Height * sy }).ToList();
        var rewritten = decision with
        {
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(upload.Bytes)),
            Extension = upload.Extension,
            Size = upload.Size,
            Boxes = boxes,
        };
        return (rewritten, upload.Bytes);
    }

    /// <summary>
    /// The bytes the edge would upload for this file (for tools that must find an uploaded image's source
    /// again by its content address); the input itself when nothing needs to change or it is not an image.
    /// </summary>
    public ReadOnlyMemory<byte> UploadBytes(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            using var header = _decoder.Decode(bytes.Span, 8, 8);
            return Encode(bytes, header.OriginalSize) is { } upload ? upload.Bytes : bytes;
        }
        catch (ImageRejectedException)
        {
            return bytes;
        }
    }

    /// <summary>The PNG without its chunks of that type, or null when it has none (or its chunk layout is broken).</summary>
    private static byte[]? WithoutPngChunk(ReadOnlySpan<byte> png, ReadOnlySpan<byte> type)
    {
        const int Signature = 8;
        var keep = new List<Range>();
        var found = false;
        var at = Signature;
        while (at + 12 <= png.Length)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(png[at..]);
            if (length > (uint)(png.Length - at - 12))
            {
                return null;
            }

            var end = at + 12 + (int)length;
            if (png.Slice(at + 4, 4).SequenceEqual(type))
            {
                found = true;
            }
            else
            {
                keep.Add(at..end);
            }

            at = end;
        }

        if (!found)
        {
            return null;
        }

        var output = new List<byte>(png.Length);
        output.AddRange(png[..Signature]);
        foreach (var range in keep)
        {
            output.AddRange(png[range]);
        }

        output.AddRange(png[at..]);
        return [.. output];
    }

    private sealed record Encoded(byte[] Bytes, string Extension, ImageSize Size);

    /// <summary>The re-encoded image, or null when the bytes can go as they are.</summary>
    private Encoded? Encode(ReadOnlyMemory<byte> bytes, ImageSize size)
    {
        var scale = _maxSide > 0 && Math.Max(size.Width, size.Height) > _maxSide;
        var rotated = ImageDecoder.ReadOrientation(bytes.Span) != 1;
        if (!scale && !rotated)
        {
            // The decoder ignores a PNG eXIf chunk (the boxes are in the stored frame), but a reader that honored
            // its orientation would not be: the chunk goes, the pixels stay byte for byte.
            return ImageDecoder.Sniff(bytes.Span) == ImageFormat.Png && WithoutPngChunk(bytes.Span, "eXIf"u8) is { } stripped
                ? new Encoded(stripped, "png", size)
                : null;
        }

        var width = size.Width;
        var height = size.Height;
        if (scale)
        {
            var factor = (double)_maxSide / Math.Max(size.Width, size.Height);
            width = Math.Max(1, (int)Math.Round(size.Width * factor));
            height = Math.Max(1, (int)Math.Round(size.Height * factor));
        }

        // The decoder applies the orientation (the same code path the detector's input took, so the pixels
        // are exactly the frame the boxes were found in) and never writes a tag back.
        using var decoded = _decoder.Decode(bytes.Span, width, height);
        var png = !scale && ImageDecoder.Sniff(bytes.Span) == ImageFormat.Png;
        using var resized = decoded.Bitmap.Width == width && decoded.Bitmap.Height == height
            ? null
            : decoded.Bitmap.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul), new SKSamplingOptions(SKCubicResampler.Mitchell))
              ?? throw new InvalidOperationException($"could not resize the image to {width}x{height}");
        using var image = SKImage.FromBitmap(resized ?? decoded.Bitmap);
        using var data = image.Encode(png ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, png ? 100 : _jpegQuality)
            ?? throw new InvalidOperationException($"could not encode a {width}x{height} upright image");
        return new Encoded(data.ToArray(), png ? "png" : "jpg", new ImageSize(width, height, size.Depth));
    }
}
