using System.Globalization;
using System.Security.Cryptography;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;

namespace EdgeLabeling.Simulation;

/// <summary>The true boxes of an image, as a perfect labeler would draw them.</summary>
public sealed record OracleAnswer(IReadOnlyList<PixelBox> Boxes);

/// <summary>Knows the ground truth of the images the simulated workforce is shown.</summary>
public interface IGroundTruthOracle
{
    /// <summary>The true boxes (pixels of the oriented image) or null when the image is unknown.</summary>
    OracleAnswer? Answer(string sourceRef, ImageSize size);
}

/// <summary>
/// Ground truth from YOLO label files (<c>labels/&lt;stem&gt;.txt</c>: one <c>class cx cy w h</c> line per
/// object, normalized to the oriented image). Images are found by the SHA-256 in their content-addressed
/// key (mapped to a stem by hashing the sample images once, and the form the edge uploads them in when it
/// re-encodes some, e.g. EXIF-rotated frames written upright) or, failing that, by their file-name stem.
/// </summary>
public sealed class YoloLabelOracle : IGroundTruthOracle
{
    private readonly string _labelsDirectory;
    private readonly Dictionary<string, string> _stemBySha = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="labelsDirectory">Folder of YOLO .txt files.</param>
    /// <param name="imagesDirectory">Optional folder of the images those labels describe; hashed to map SHA-256 keys to stems.</param>
    /// <param name="uploadedForm">Optional: the bytes the edge uploads for a file (its SHA-256 is the key the workforce is shown).</param>
    public YoloLabelOracle(string labelsDirectory, string? imagesDirectory = null, Func<byte[], ReadOnlyMemory<byte>>? uploadedForm = null)
    {
        if (!Directory.Exists(labelsDirectory))
        {
            throw new DirectoryNotFoundException($"ground-truth labels folder '{labelsDirectory}' does not exist");
        }

        _labelsDirectory = labelsDirectory;
        if (imagesDirectory is not null)
        {
            foreach (var file in Directory.EnumerateFiles(imagesDirectory))
            {
                if (ObjectKeyLayout.HasImageExtension(file))
                {
                    var bytes = File.ReadAllBytes(file);
                    var stem = Path.GetFileNameWithoutExtension(file);
                    _stemBySha[Convert.ToHexStringLower(SHA256.HashData(bytes))] = stem;
                    if (uploadedForm is not null)
                    {
                        _stemBySha[Convert.ToHexStringLower(SHA256.HashData(uploadedForm(bytes).Span))] = stem;
                    }
                }
            }
        }
    }

    /// <summary>The project's sample set layout: <c>{dir}/labels/*.txt</c> for <c>{dir}/images/*</c>.</summary>
    public static YoloLabelOracle FromSampleSet(string samplesDirectory) =>
        new(Path.Combine(samplesDirectory, "labels"), Path.Combine(samplesDirectory, "images"));

    /// <summary>How many sample images were hashed (those can be found by their SHA-256 key).</summary>
    public int KnownImages => _stemBySha.Count;

    public OracleAnswer? Answer(string sourceRef, ImageSize size)
    {
        var key = ImageIdentity.KeyOf(sourceRef);
        var stem = _stemBySha.TryGetValue(key, out var s) ? s : Path.GetFileNameWithoutExtension(sourceRef);
        var path = Path.Combine(_labelsDirectory, stem + ".txt");
        if (!File.Exists(path))
        {
            return null;
        }

        return new OracleAnswer(ParseYolo(File.ReadLines(path), size, path));
    }

    /// <summary>Converts YOLO lines to pixel boxes; a malformed line is an error naming the file and line.</summary>
    public static IReadOnlyList<PixelBox> ParseYolo(IEnumerable<string> lines, ImageSize size, string name)
    {
        var boxes = new List<PixelBox>();
        var n = 0;
        foreach (var raw in lines)
        {
            n++;
            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 5 || !int.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var cls) || cls < 0
                || !TryNorm(f[1], out var cx) || !TryNorm(f[2], out var cy) || !TryNorm(f[3], out var w) || !TryNorm(f[4], out var h))
            {
                throw new FormatException($"{name} line {n} is not 'class cx cy w h' with values in 0..1: '{line}'");
            }

            boxes.Add(new PixelBox(cls, (cx - w / 2) * size.Width, (cy - h / 2) * size.Height, w * size.Width, h * size.Height, 1.0));
        }

        return boxes;
    }

    private static bool TryNorm(string s, out double v) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v) && double.IsFinite(v) && v >= 0 && v <= 1;
}

/// <summary>An oracle backed by a dictionary; for tests and synthetic demos.</summary>
public sealed class DictionaryOracle(IReadOnlyDictionary<string, IReadOnlyList<PixelBox>> boxesByImageKey) : IGroundTruthOracle
{
    public OracleAnswer? Answer(string sourceRef, ImageSize size) =>
        boxesByImageKey.TryGetValue(ImageIdentity.KeyOf(sourceRef), out var b) ? new OracleAnswer(b) : null;
}
