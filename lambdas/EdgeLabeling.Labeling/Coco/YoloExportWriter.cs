using System.Globalization;
using System.Text;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Labeling.Coco;

/// <summary>
/// Writes a YOLO (Ultralytics) detection dataset: one <c>labels/&lt;image&gt;.txt</c> per image with a row
/// <c>class x_center y_center width height</c> per box, normalised to 0–1 by the image size (boxes clipped to
/// the image), an empty file for an image without boxes; <c>images.txt</c> lists the image paths the labels
/// belong to (<c>images/&lt;image&gt;.&lt;ext&gt;</c>, to be filled from <c>source-refs.txt</c>, same order)
/// and <c>data.yaml</c> names the classes. Class indices are the Ground Truth class_id.
/// </summary>
public sealed class YoloExportWriter : IDisposable
{
    private readonly string _directory;
    private readonly StreamWriter _images;
    private readonly StreamWriter _sources;
    private readonly SortedDictionary<int, string> _names = [];
    private readonly StringBuilder _row = new();

    public YoloExportWriter(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(Path.Combine(directory, "labels"));
        _images = new StreamWriter(Path.Combine(directory, "images.txt"), false, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        _sources = new StreamWriter(Path.Combine(directory, "source-refs.txt"), false, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
    }

    public long ImageCount { get; private set; }
    public long BoxCount { get; private set; }

    /// <summary>Adds one image; <paramref name="stem"/> is its file name without extension (unique in the dataset).</summary>
    public void AddImage(string sourceRef, string stem, ImageSize size, IReadOnlyList<PixelBox> boxes, Func<int, string> className)
    {
        _row.Clear();
        foreach (var b in boxes)
        {
            var left = Math.Clamp(b.Left, 0, size.Width);
            var top = Math.Clamp(b.Top, 0, size.Height);
            var right = Math.Clamp(b.Right, 0, size.Width);
            var bottom = Math.Clamp(b.Bottom, 0, size.Height);
            if (right <= left || bottom <= top || size.Width == 0 || size.Height == 0)
            {
                continue;
            }

            _names.TryAdd(b.ClassId, className(b.ClassId));
            _row.Append(CultureInfo.InvariantCulture, $"{b.ClassId} {(left + right) / 2 / size.Width:0.######} {(top + bottom) / 2 / size.Height:0.######} {(right - left) / size.Width:0.######} {(bottom - top) / size.Height:0.######}\n");
            BoxCount++;
        }

        File.WriteAllText(Path.Combine(_directory, "labels", stem + ".txt"), _row.ToString());
        _images.WriteLine("images/" + stem + Extension(sourceRef));
        _sources.WriteLine(sourceRef);
        ImageCount++;
    }

    /// <summary>The file name for an image key: the SHA-256 of a content-addressed image, else a safe form of the key.</summary>
    public static string StemOf(string imageKey, UInt128 fingerprint)
    {
        if (imageKey.Length == 64 && imageKey.All(char.IsAsciiHexDigit))
        {
            return imageKey;
        }

        var slash = imageKey.LastIndexOf('/');
        var name = imageKey[(slash + 1)..];
        var dot = name.LastIndexOf('.');
        var stem = new string((dot > 0 ? name[..dot] : name).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
        // Two folders may hold the same file name: the fingerprint keeps the stems apart.
        return stem + "-" + ((ulong)(fingerprint >> 64)).ToString("x16", CultureInfo.InvariantCulture);
    }

    private static string Extension(string sourceRef)
    {
        var name = sourceRef[(sourceRef.LastIndexOf('/') + 1)..];
        var dot = name.LastIndexOf('.');
        return dot > 0 ? name[dot..] : ".jpg";
    }

    /// <summary>Writes data.yaml and closes the lists.</summary>
    public void Finish(string description)
    {
        _images.Flush();
        _sources.Flush();
        var yaml = new StringBuilder();
        yaml.Append("# ").Append(description).Append('\n');
        yaml.Append("path: .\ntrain: images.txt\nval: images.txt\nnames:\n");
        var max = _names.Count == 0 ? -1 : _names.Keys.Max();
        for (var i = 0; i <= max; i++)
        {
            var name = _names.TryGetValue(i, out var n) ? n : "class-" + i.ToString(CultureInfo.InvariantCulture);
            yaml.Append(CultureInfo.InvariantCulture, $"  {i}: \"{name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"\n");
        }

        File.WriteAllText(Path.Combine(_directory, "data.yaml"), yaml.ToString());
    }

    public void Dispose()
    {
        _images.Dispose();
        _sources.Dispose();
    }
}
