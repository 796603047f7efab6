namespace EdgeLabeling.Inference;

/// <summary>
/// Turns raw model outputs into <see cref="Candidate"/>s in model-input pixels. One instance per model layout;
/// instances keep scratch arrays, so they are not thread-safe.
/// </summary>
public abstract class OutputDecoder
{
    /// <summary>Layout name reported in <see cref="DetectorInfo.Layout"/>: "yolov8", "yolov5" or "ssd".</summary>
    public abstract string Layout { get; }

    /// <summary>Class count the outputs encode, or null when the layout does not reveal it (SSD).</summary>
    public abstract int? ClassCount { get; }

    /// <summary>Model output names, in the order <see cref="Decode"/> expects their buffers.</summary>
    public abstract IReadOnlyList<string> OutputNames { get; }

    /// <summary>
    /// Appends every usable candidate with score ≥ <paramref name="scoreFloor"/> to <paramref name="into"/>.
    /// Non-finite numbers and empty boxes are skipped (see <see cref="Candidate.IsUsable"/>).
    /// </summary>
    /// <param name="outputs">One buffer per <see cref="OutputNames"/> entry, row-major.</param>
    /// <param name="scoreFloor">Pre-NMS confidence floor.</param>
    /// <param name="into">Receives candidates; not cleared.</param>
    public abstract void Decode(IReadOnlyList<float[]> outputs, float scoreFloor, List<Candidate> into);

    private protected static void RequireLength(float[] buffer, long expected, string what)
    {
        if (buffer.Length < expected)
        {
            throw new ArgumentException($"The {what} buffer has {buffer.Length} values; {expected} are needed.");
        }
    }
}

/// <summary>
/// Ultralytics YOLOv8/YOLO11: one output [1, 4+C, N]; rows cx, cy, w, h (input pixels), then C sigmoid class
/// scores; no objectness. Each anchor yields its best class only (single-label, as Ultralytics predicts).
/// </summary>
public sealed class YoloV8Decoder : OutputDecoder
{
    private readonly float[] _best;
    private readonly int[] _bestClass;

    /// <summary>Creates a decoder for an output named <paramref name="outputName"/> with the given sizes.</summary>
    public YoloV8Decoder(string outputName, int classCount, int anchorCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(anchorCount, 1);
        OutputNames = [outputName];
        ClassCount = classCount;
        AnchorCount = anchorCount;
        _best = new float[anchorCount];
        _bestClass = new int[anchorCount];
    }

    public override string Layout => "yolov8";

    public override int? ClassCount { get; }

    /// <summary>Number of anchors (N).</summary>
    public int AnchorCount { get; }

    public override IReadOnlyList<string> OutputNames { get; }

    public override void Decode(IReadOnlyList<float[]> outputs, float scoreFloor, List<Candidate> into)
    {
        var data = outputs[0];
        int n = AnchorCount, c = ClassCount!.Value;
        RequireLength(data, (long)(4 + c) * n, "yolov8 output");
        // Class rows are contiguous per class, so scan them row by row (cache-friendly) keeping the best per anchor.
        Array.Fill(_best, float.NegativeInfinity);
        for (var k = 0; k < c; k++)
        {
            var row = data.AsSpan((4 + k) * n, n);
            for (var a = 0; a < n; a++)
            {
                // A NaN score marks the whole anchor as garbage: once best is NaN, "v > best" stays false,
                // and the final "score >= floor" test skips it.
                var v = row[a];
                if (v > _best[a] || float.IsNaN(v))
                {
                    _best[a] = v;
                    _bestClass[a] = k;
                }
            }
        }

        for (var a = 0; a < n; a++)
        {
            var score = _best[a];
            if (!(score >= scoreFloor))
            {
                continue;
            }

            float cx = data[a], cy = data[n + a], w = data[2 * n + a], h = data[3 * n + a];
            var candidate = new Candidate(_bestClass[a], cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score);
            if (candidate.IsUsable(scoreFloor))
            {
                into.Add(candidate);
            }
        }
    }
}

/// <summary>
/// YOLOv5-style: one output [1, N, 5+C]; per row cx, cy, w, h (input pixels), objectness, C class scores
/// (already sigmoided); confidence = objectness × best class score.
/// </summary>
public sealed class YoloV5Decoder : OutputDecoder
{
    /// <summary>Creates a decoder for an output named <paramref name="outputName"/> with the given sizes.</summary>
    public YoloV5Decoder(string outputName, int classCount, int rowCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowCount, 1);
        OutputNames = [outputName];
        ClassCount = classCount;
        RowCount = rowCount;
    }

    public override string Layout => "yolov5";

    public override int? ClassCount { get; }

    /// <summary>Number of rows (N).</summary>
    public int RowCount { get; }

    public override IReadOnlyList<string> OutputNames { get; }

    public override void Decode(IReadOnlyList<float[]> outputs, float scoreFloor, List<Candidate> into)
    {
        var data = outputs[0];
        int c = ClassCount!.Value, stride = 5 + c;
        RequireLength(data, (long)stride * RowCount, "yolov5 output");
        for (var r = 0; r < RowCount; r++)
        {
            var row = data.AsSpan(r * stride, stride);
            var objectness = row[4];
            // Cheap reject: the product can never reach the floor when objectness alone does not.
            if (!(objectness >= scoreFloor))
            {
                continue;
            }

            var best = float.NegativeInfinity;
            var bestClass = 0;
            for (var k = 0; k < c; k++)
            {
                // As for YOLOv8: any NaN score makes the row unusable (NaN propagates into the product).
                var v = row[5 + k];
                if (v > best || float.IsNaN(v))
                {
                    best = v;
                    bestClass = k;
                    if (float.IsNaN(v))
                    {
                        break;
                    }
                }
            }

            var score = objectness * best;
            float cx = row[0], cy = row[1], w = row[2], h = row[3];
            var candidate = new Candidate(bestClass, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score);
            if (candidate.IsUsable(scoreFloor))
            {
                into.Add(candidate);
            }
        }
    }
}

/// <summary>
/// TensorFlow Object Detection API / SSD exports: boxes [1,K,4] as (ymin, xmin, ymax, xmax) normalized 0..1,
/// scores [1,K], classes [1,K] as float ids that are 1-based (0 is background), and an optional count [1].
/// Class ids are shifted to 0-based so they index the labels the same way as the YOLO layouts.
/// </summary>
public sealed class SsdDecoder : OutputDecoder
{
    private readonly bool _hasCount;

    /// <summary>Creates a decoder over the named outputs; <paramref name="countOutput"/> may be null.</summary>
    public SsdDecoder(string boxesOutput, string scoresOutput, string classesOutput, string? countOutput,
        int maxDetections, int inputWidth, int inputHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDetections, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputHeight, 1);
        _hasCount = countOutput is not null;
        OutputNames = countOutput is null
            ? [boxesOutput, scoresOutput, classesOutput]
            : [boxesOutput, scoresOutput, classesOutput, countOutput];
        MaxDetections = maxDetections;
        InputWidth = inputWidth;
        InputHeight = inputHeight;
    }

    public override string Layout => "ssd";

    public override int? ClassCount => null;

    /// <summary>K, the fixed number of rows the model emits.</summary>
    public int MaxDetections { get; }

    /// <summary>Model input width (normalized x is multiplied by it).</summary>
    public int InputWidth { get; }

    /// <summary>Model input height (normalized y is multiplied by it).</summary>
    public int InputHeight { get; }

    public override IReadOnlyList<string> OutputNames { get; }

    public override void Decode(IReadOnlyList<float[]> outputs, float scoreFloor, List<Candidate> into)
    {
        float[] boxes = outputs[0], scores = outputs[1], classes = outputs[2];
        var k = MaxDetections;
        RequireLength(boxes, 4L * k, "ssd boxes");
        RequireLength(scores, k, "ssd scores");
        RequireLength(classes, k, "ssd classes");
        var count = k;
        if (_hasCount)
        {
            var declared = outputs[3][0];
            // A garbage count (NaN, negative, huge) must not index past K.
            count = float.IsFinite(declared) ? (int)Math.Clamp(declared, 0, k) : 0;
        }

        for (var i = 0; i < count; i++)
        {
            var rawClass = classes[i];
            if (!float.IsFinite(rawClass) || rawClass < 1 || rawClass > int.MaxValue)
            {
                continue;
            }

            var b = boxes.AsSpan(4 * i, 4);
            var candidate = new Candidate((int)MathF.Round(rawClass) - 1,
                b[1] * InputWidth, b[0] * InputHeight, b[3] * InputWidth, b[2] * InputHeight, scores[i]);
            if (candidate.IsUsable(scoreFloor))
            {
                into.Add(candidate);
            }
        }
    }
}
