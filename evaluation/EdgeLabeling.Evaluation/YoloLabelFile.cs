using System.Globalization;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Evaluation;

/// <summary>
/// Ground truth in the YOLO text format most teams already have: one object per line,
/// <c>class cx cy w h</c>, normalized to the oriented image's width and height.
/// </summary>
public static class YoloLabelFile
{
    /// <summary>Reads a label file into pixel boxes (confidence 1). Errors name the file, line and problem.</summary>
    public static IReadOnlyList<PixelBox> Read(string path, ImageSize size, int classCount)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"label file '{path}' does not exist", path);
        }

        return Parse(File.ReadAllLines(path), size, classCount, path);
    }

    public static IReadOnlyList<PixelBox> Parse(IEnumerable<string> lines, ImageSize size, int classCount, string sourceName)
    {
        var boxes = new List<PixelBox>();
        var lineNo = 0;
        foreach (var raw in lines)
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 5)
            {
                throw new FormatException($"{sourceName}:{lineNo}: expected 'class cx cy w h', got {parts.Length} fields");
            }

            if (!int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var cls) || cls < 0 || cls >= classCount)
            {
                throw new FormatException($"{sourceName}:{lineNo}: class '{parts[0]}' is not an id in 0..{classCount - 1}");
            }

            var v = new double[4];
            for (var i = 0; i < 4; i++)
            {
                if (!double.TryParse(parts[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]) || !double.IsFinite(v[i]) || v[i] < 0 || v[i] > 1.0001)
                {
                    throw new FormatException($"{sourceName}:{lineNo}: '{parts[i + 1]}' is not a normalized coordinate in [0, 1]");
                }
            }

            var w = v[2] * size.Width;
            var h = v[3] * size.Height;
            boxes.Add(new PixelBox(cls, (v[0] * size.Width) - (w / 2), (v[1] * size.Height) - (h / 2), w, h, 1.0));
        }

        return boxes;
    }
}
