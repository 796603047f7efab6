using System.Buffers.Binary;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Simulation;

/// <summary>
/// What a Ground Truth worker is shown: the image's stored pixels, unrotated. Ground Truth needs CORS on the
/// input bucket precisely so it can keep the browser from applying the EXIF orientation (developer guide,
/// "CORS Requirement for Input Image Data"), so its <c>image_size</c> and the workers' boxes are in the stored
/// frame whatever the tag says. Read from the header alone (JPEG SOF + EXIF APP1, PNG IHDR), no decoding.
/// </summary>
/// <param name="Stored">Width and height as stored.</param>
/// <param name="Orientation">EXIF Orientation 1-8 (1 when there is none, and for PNG).</param>
public sealed record StoredImageFrame(ImageSize Stored, int Orientation)
{
    /// <summary>The size a viewer that applies the tag shows (the frame labels of the upright image refer to).</summary>
    public ImageSize Upright => Orientation >= 5 ? new ImageSize(Stored.Height, Stored.Width, Stored.Depth) : Stored;

    /// <summary>The frame of a JPEG or PNG, or null when the bytes are not one (a task Ground Truth cannot show).</summary>
    public static StoredImageFrame? TryRead(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length >= 24 && bytes[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]) && bytes[12..16].SequenceEqual("IHDR"u8))
        {
            return new StoredImageFrame(new ImageSize((int)BinaryPrimitives.ReadUInt32BigEndian(bytes[16..20]), (int)BinaryPrimitives.ReadUInt32BigEndian(bytes[20..24]), 3), 1);
        }

        return bytes.Length >= 4 && bytes[0] == 0xFF && bytes[1] == 0xD8 ? ReadJpeg(bytes) : null;
    }

    /// <summary>
    /// A box of the upright image (the oracle's truth) in the stored frame, where the worker sees that object.
    /// </summary>
    public PixelBox ToStored(PixelBox upright)
    {
        var (x1, y1) = ToStored(upright.Left, upright.Top);
        var (x2, y2) = ToStored(upright.Right, upright.Bottom);
        return upright with { Left = Math.Min(x1, x2), Top = Math.Min(y1, y2), Width = Math.Abs(x2 - x1), Height = Math.Abs(y2 - y1) };
    }

    // Inverse of the EXIF transform, on continuous coordinates: upright (u, v) → stored (x, y).
    private (double X, double Y) ToStored(double u, double v)
    {
        double w = Stored.Width, h = Stored.Height;
        return Orientation switch
        {
            2 => (w - u, v),
            3 => (w - u, h - v),
            4 => (u, h - v),
            5 => (v, u),
            6 => (v, h - u),
            7 => (w - v, h - u),
            8 => (w - v, u),
            _ => (u, v),
        };
    }

    private static StoredImageFrame? ReadJpeg(ReadOnlySpan<byte> bytes)
    {
        var orientation = 1;
        var i = 2;
        while (i + 4 <= bytes.Length)
        {
            if (bytes[i] != 0xFF)
            {
                return null;
            }

            var marker = bytes[i + 1];
            if (marker == 0xFF)
            {
                i++;
                continue;
            }

            if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7))
            {
                i += 2;
                continue;
            }

            if (marker is 0xD9 or 0xDA)
            {
                return null;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(bytes[(i + 2)..]);
            if (length < 2 || i + 2 + length > bytes.Length)
            {
                return null;
            }

            var segment = bytes.Slice(i + 4, length - 2);
            if (marker == 0xE1 && segment.StartsWith("Exif\0\0"u8))
            {
                orientation = ExifOrientation(segment[6..]);
            }
            else if (marker is (>= 0xC0 and <= 0xC3) or (>= 0xC5 and <= 0xC7) or (>= 0xC9 and <= 0xCB) or (>= 0xCD and <= 0xCF) && segment.Length >= 6)
            {
                // SOFn: precision, height, width, components.
                var height = BinaryPrimitives.ReadUInt16BigEndian(segment[1..]);
                var width = BinaryPrimitives.ReadUInt16BigEndian(segment[3..]);
                return new StoredImageFrame(new ImageSize(width, height, 3), orientation);
            }

            i += 2 + length;
        }

        return null;
    }

    private static int ExifOrientation(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8)
        {
            return 1;
        }

        var little = tiff[0] == (byte)'I';
        ushort U16(ReadOnlySpan<byte> b) => little ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b);
        uint U32(ReadOnlySpan<byte> b) => little ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b);
        var ifd = U32(tiff[4..]);
        if (ifd > tiff.Length - 2)
        {
            return 1;
        }

        var count = U16(tiff[(int)ifd..]);
        for (var e = 0; e < count; e++)
        {
            var entry = (int)ifd + 2 + (12 * e);
            if (entry + 12 > tiff.Length)
            {
                break;
            }

            if (U16(tiff[entry..]) == 0x0112)
            {
                var value = U16(tiff[(entry + 8)..]);
                return value is >= 1 and <= 8 ? value : 1;
            }
        }

        return 1;
    }
}
