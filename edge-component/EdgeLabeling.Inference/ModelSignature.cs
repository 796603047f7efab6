using System.Globalization;

namespace EdgeLabeling.Inference;

/// <summary>One model input or output as declared by the ONNX graph.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="ElementType">Element type, e.g. "float32", "uint8".</param>
/// <param name="Shape">Dimensions; -1 where the graph declares a symbolic (dynamic) dimension.</param>
/// <param name="SymbolicNames">Symbolic dimension names ("" where the dimension is fixed); may be empty.</param>
public sealed record TensorSignature(string Name, string ElementType, IReadOnlyList<long> Shape, IReadOnlyList<string> SymbolicNames)
{
    /// <summary>Creates a signature with no symbolic names.</summary>
    public TensorSignature(string name, string elementType, params long[] shape) : this(name, elementType, shape, []) { }

    /// <summary>True when every dimension is fixed.</summary>
    public bool IsConcrete => Shape.All(d => d >= 0);

    /// <summary>Shape as "[1,3,'height',640]" style text.</summary>
    public string ShapeText => "[" + string.Join(",", Shape.Select((d, i) =>
        d >= 0 ? d.ToString(CultureInfo.InvariantCulture)
        : i < SymbolicNames.Count && SymbolicNames[i].Length > 0 ? "'" + SymbolicNames[i] + "'" : "?")) + "]";

    public override string ToString() => $"{Name} {ElementType}{ShapeText}";
}

/// <summary>The inputs and outputs of a model, used to pick the pre- and post-processing.</summary>
public sealed record ModelSignature(IReadOnlyList<TensorSignature> Inputs, IReadOnlyList<TensorSignature> Outputs)
{
    /// <summary>"inputs: images float32[1,3,320,320]; outputs: output0 float32[1,7,2100]".</summary>
    public string Describe() =>
        $"inputs: {string.Join(", ", Inputs)}; outputs: {string.Join(", ", Outputs)}";
}

/// <summary>Facts beyond the output shapes that help choose a decoder.</summary>
/// <param name="ClassCount">Number of class names the model's own metadata (or a labels file) declares, if any.</param>
/// <param name="UltralyticsMetadata">True when the model carries Ultralytics-package metadata (<c>task</c> or <c>imgsz</c>).</param>
public sealed record LayoutHints(int? ClassCount, bool UltralyticsMetadata);

/// <summary>How the model wants its single image input.</summary>
public enum InputLayout
{
    /// <summary>float32 [1,3,H,W], RGB scaled to 0..1 (Ultralytics).</summary>
    ChwFloat,
    /// <summary>uint8 [1,H,W,3], RGB 0..255 (TensorFlow exports).</summary>
    NhwcByte,
}

/// <summary>The model's image input: name, layout and size.</summary>
public sealed record InputSpec(string Name, InputLayout Layout, int Width, int Height)
{
    /// <summary>The tensor shape to feed.</summary>
    public long[] Shape => Layout == InputLayout.ChwFloat ? [1, 3, Height, Width] : [1, Height, Width, 3];
}

/// <summary>
/// Chooses the input layout and output decoder from a model signature. Rules are applied to concrete output
/// shapes (the detector probes the model once when the graph declares dynamic output dimensions).
/// </summary>
public static class LayoutSelector
{
    /// <summary>
    /// Finds the image input. <paramref name="fallbackSize"/> (e.g. from the <c>imgsz</c> metadata) fills
    /// symbolic height/width.
    /// </summary>
    /// <exception cref="ModelLoadException">No usable image input; the message lists the whole signature.</exception>
    public static InputSpec SelectInput(ModelSignature signature, (int Width, int Height)? fallbackSize)
    {
        ArgumentNullException.ThrowIfNull(signature);
        if (signature.Inputs.Count != 1)
        {
            throw Unsupported(signature, $"expected exactly one image input, found {signature.Inputs.Count}");
        }

        var input = signature.Inputs[0];
        var s = input.Shape;
        if (s.Count != 4 || s[0] > 1)
        {
            throw Unsupported(signature, $"input '{input.Name}' must be 4-D with batch 1");
        }

        InputLayout layout;
        long h, w;
        if (s[1] == 3 && input.ElementType == "float32")
        {
            (layout, h, w) = (InputLayout.ChwFloat, s[2], s[3]);
        }
        else if (s[3] == 3 && input.ElementType == "uint8")
        {
            (layout, h, w) = (InputLayout.NhwcByte, s[1], s[2]);
        }
        else
        {
            throw Unsupported(signature, $"input '{input.Name}' must be float32 [1,3,H,W] or uint8 [1,H,W,3]");
        }

        if (h < 0 || w < 0)
        {
            if (fallbackSize is not { } size)
            {
                throw Unsupported(signature, $"input '{input.Name}' has a dynamic size and the model carries no 'imgsz' metadata");
            }

            h = h < 0 ? size.Height : h;
            w = w < 0 ? size.Width : w;
        }

        if (h < 1 || w < 1 || h > 8192 || w > 8192)
        {
            throw Unsupported(signature, $"input '{input.Name}' size {w}×{h} is out of range");
        }

        return new InputSpec(input.Name, layout, (int)w, (int)h);
    }

    /// <summary>
    /// Picks the output decoder. For a single 3-D output [1, A, B] the shape alone is ambiguous when the class count
    /// fits both readings (e.g. [1, 6, 7] is YOLOv8 with 2 classes and 7 anchors, or YOLOv5 with 6 rows and 2
    /// classes), so the decision uses, in order: which reading matches the known class count
    /// (<see cref="LayoutHints.ClassCount"/>); for a tie, whether the model carries the Ultralytics-package metadata
    /// (<c>task</c>/<c>imgsz</c>, written by every YOLOv8/YOLO11 export and by no YOLOv5-repo export); finally the
    /// shape rule A &lt; B → YOLOv8 [1, 4+C, N] (anchors outnumber channels), A &gt; B → YOLOv5 [1, N, 5+C].
    /// Several outputs named like detection_boxes/scores/classes(/num_detections) are SSD / TF-OD.
    /// </summary>
    /// <param name="signature">Signature with concrete output shapes.</param>
    /// <param name="input">The selected image input.</param>
    /// <param name="hints">What else is known about the model (class names, metadata style).</param>
    /// <exception cref="ModelLoadException">No decoder fits; the message lists every input and output with its shape.</exception>
    public static OutputDecoder SelectDecoder(ModelSignature signature, InputSpec input, LayoutHints? hints = null)
    {
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentNullException.ThrowIfNull(input);
        hints ??= new LayoutHints(null, false);
        var outputs = signature.Outputs;
        if (outputs.Any(o => !o.IsConcrete))
        {
            throw Unsupported(signature, "output shapes must be concrete to choose a decoder");
        }

        if (outputs.Count == 1)
        {
            var o = outputs[0];
            if (o.ElementType == "float32" && o.Shape.Count == 3 && o.Shape[0] == 1)
            {
                var (a, b) = ((int)o.Shape[1], (int)o.Shape[2]);
                var v8 = a >= 5 && b >= 1;
                var v5 = b >= 6 && a >= 1;
                if (v8 && v5 && hints.ClassCount is { } c)
                {
                    var v8Fits = a == 4 + c;
                    var v5Fits = b == 5 + c;
                    if (v8Fits != v5Fits)
                    {
                        (v8, v5) = (v8Fits, v5Fits);
                    }
                    else if (v8Fits)
                    {
                        (v8, v5) = (hints.UltralyticsMetadata, !hints.UltralyticsMetadata);
                    }
                }

                if (v8 && v5)
                {
                    (v8, v5) = (a < b, a > b);
                }

                if (v8)
                {
                    return new YoloV8Decoder(o.Name, a - 4, b);
                }

                if (v5)
                {
                    return new YoloV5Decoder(o.Name, b - 5, a);
                }
            }

            throw Unsupported(signature,
                "a single output must be float32 [1, 4+C, N] (YOLOv8, 4+C < N) or [1, N, 5+C] (YOLOv5, N > 5+C)");
        }

        var boxes = outputs.Where(o => o.Shape.Count == 3 && o.Shape[0] == 1 && o.Shape[2] == 4).ToList();
        if (boxes.Count == 1)
        {
            var k = boxes[0].Shape[1];
            var perRow = outputs.Where(o => o.Shape.Count == 2 && o.Shape[0] == 1 && o.Shape[1] == k).ToList();
            var scores = perRow.Where(o => o.Name.Contains("score", StringComparison.OrdinalIgnoreCase)).ToList();
            var classes = perRow.Where(o => o.Name.Contains("class", StringComparison.OrdinalIgnoreCase)).ToList();
            var count = outputs.Where(o => o.Shape.Count == 1 && o.Shape[0] == 1).ToList();
            var used = new[] { boxes[0] }.Concat(scores).Concat(classes).Concat(count).ToList();
            if (scores.Count == 1 && classes.Count == 1 && count.Count <= 1 && k >= 1 &&
                used.All(o => o.ElementType == "float32") && used.Count == outputs.Count)
            {
                return new SsdDecoder(boxes[0].Name, scores[0].Name, classes[0].Name, count.FirstOrDefault()?.Name,
                    (int)k, input.Width, input.Height);
            }
        }

        throw Unsupported(signature,
            "several outputs must be float32 SSD/TF-OD detection_boxes [1,K,4], detection_scores [1,K], detection_classes [1,K] and optionally num_detections [1]");
    }

    private static ModelLoadException Unsupported(ModelSignature signature, string why) =>
        new($"No supported detector layout fits this model ({why}). {signature.Describe()}. " +
            "Supported: YOLOv8/YOLO11 [1,4+C,N], YOLOv5 [1,N,5+C], SSD/TF-OD boxes+scores+classes(+count).");
}
