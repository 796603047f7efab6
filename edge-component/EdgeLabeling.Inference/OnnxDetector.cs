using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using EdgeLabeling.Contracts;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeLabeling.Inference;

/// <summary>Settings for <see cref="OnnxDetector"/>.</summary>
public sealed record OnnxDetectorOptions
{
    /// <summary>Path of the .onnx file.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Optional labels file (one class name per line) that overrides the model's <c>names</c> metadata.</summary>
    public string? LabelsPath { get; init; }

    /// <summary>ONNX Runtime intra-op threads (default 1: the edge device shares its cores with decoding and upload).</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>Class-aware NMS IoU threshold (default 0.45).</summary>
    public float NmsIoU { get; init; } = 0.45f;

    /// <summary>Pre-NMS confidence floor (default 0.05: routing needs the low scores too, to see uncertainty).</summary>
    public float ScoreFloor { get; init; } = 0.05f;

    /// <summary>Most detections returned per image (default 300).</summary>
    public int MaxDetections { get; init; } = 300;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad field and its value.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelPath))
        {
            throw new ArgumentException("ModelPath must name a .onnx file.", nameof(ModelPath));
        }

        if (IntraOpThreads is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "IntraOpThreads must be within 1..64.");
        }

        if (!(NmsIoU is > 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(NmsIoU), NmsIoU, "NmsIoU must be within (0, 1].");
        }

        if (!(ScoreFloor is >= 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(ScoreFloor), ScoreFloor, "ScoreFloor must be within [0, 1).");
        }

        if (MaxDetections is < 1 or > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDetections), MaxDetections, "MaxDetections must be within 1..100000.");
        }
    }
}

/// <summary>
/// A preallocated model input (tensor buffer + the letterbox that fills it) together with what is needed to map
/// boxes back to the image it was filled from. Create with <see cref="OnnxDetector.CreateInput"/>; fill with
/// <see cref="OnnxDetector.Prepare"/> on any thread; run with <see cref="OnnxDetector.Run"/>.
/// </summary>
public sealed class DetectorInput : IDisposable
{
    private readonly float[]? _chw;
    private readonly byte[]? _nhwc;
    private readonly Letterbox _letterbox;

    internal DetectorInput(InputSpec spec)
    {
        _letterbox = new Letterbox(spec.Width, spec.Height);
        if (spec.Layout == InputLayout.ChwFloat)
        {
            _chw = new float[3 * spec.Width * spec.Height];
            Value = OrtValue.CreateTensorValueFromMemory(_chw, spec.Shape);
        }
        else
        {
            _nhwc = new byte[3 * spec.Width * spec.Height];
            Value = OrtValue.CreateTensorValueFromMemory(_nhwc, spec.Shape);
        }
    }

    /// <summary>The tensor ONNX Runtime reads, over the preallocated buffer (for baselines and custom runs).</summary>
    public OrtValue Value { get; }

    /// <summary>Where the last image landed in the input.</summary>
    public LetterboxGeometry Geometry { get; private set; }

    /// <summary>Oriented original size of the last image.</summary>
    public ImageSize OriginalSize { get; private set; }

    /// <summary>True after <see cref="Fill"/>, until the input is run.</summary>
    public bool IsFilled { get; internal set; }

    internal double OriginalPerBitmapX { get; private set; }

    internal double OriginalPerBitmapY { get; private set; }

    internal void Fill(DecodedImage image)
    {
        Geometry = _chw is not null ? _letterbox.FillChw(image.Bitmap, _chw) : _letterbox.FillNhwc(image.Bitmap, _nhwc);
        OriginalSize = image.OriginalSize;
        OriginalPerBitmapX = image.ScaleX;
        OriginalPerBitmapY = image.ScaleY;
        IsFilled = true;
    }

    internal void FillGray()
    {
        if (_chw is not null)
        {
            Array.Fill(_chw, Letterbox.PadValue / 255f);
        }
        else
        {
            Array.Fill(_nhwc!, Letterbox.PadValue);
        }
    }

    /// <summary>This input's own output tensors and candidate lists, made by the detector on the first run: with
    /// them, runs on different inputs may overlap (ONNX Runtime's Run is thread-safe for distinct outputs).</summary>
    internal RunScratch? Scratch { get; set; }

    public void Dispose()
    {
        Value.Dispose();
        Scratch?.Dispose();
        _letterbox.Dispose();
    }
}

/// <summary>What one model run writes to: preallocated output tensors, the decoder's candidates and NMS survivors.</summary>
internal sealed class RunScratch : IDisposable
{
    public RunScratch(long[][] outputShapes)
    {
        Buffers = outputShapes.Select(s => new float[s.Aggregate(1L, (a, b) => a * b)]).ToArray();
        Values = Buffers.Select((b, i) => OrtValue.CreateTensorValueFromMemory(b, outputShapes[i])).ToArray();
    }

    public float[][] Buffers { get; }

    public OrtValue[] Values { get; }

    public List<Candidate> Candidates { get; } = [];

    public List<Candidate> Kept { get; } = [];

    public void Dispose()
    {
        foreach (var v in Values)
        {
            v.Dispose();
        }
    }
}

/// <summary>
/// <see cref="IDetector"/> over ONNX Runtime: one <see cref="InferenceSession"/> for the detector's lifetime,
/// input and output tensors preallocated once and reused, output decoder chosen from the model's signature.
/// </summary>
public sealed partial class OnnxDetector : IDetector
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OnnxDetectorOptions _options;
    private readonly InputSpec _inputSpec;
    private readonly OutputDecoder _decoder;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly long[][] _outputShapes;
    // The outputs of Run (one run at a time); RunOverlapping uses each input's own.
    private RunScratch? _sharedScratch;
    // Created on first use: callers of the pipelined path bring their own inputs, and an unused one still holds
    // a 3×H×W float buffer and a letterbox canvas (~6.5 MB at 640×640).
    private DetectorInput? _ownInput;
    private readonly Lock _runLock = new();
    private readonly Lock _decodeLock = new();
    private long _runCount;

    /// <summary>Loads the model and prepares buffers.</summary>
    /// <exception cref="ModelLoadException">The file is missing, not ONNX, has no supported layout, or its labels do not fit.</exception>
    public OnnxDetector(OnnxDetectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        var path = Path.GetFullPath(options.ModelPath);
        if (!File.Exists(path))
        {
            throw new ModelLoadException($"The model file '{path}' does not exist.");
        }

        var sha256 = HashFile(path);
        _session = CreateSession(path, options.IntraOpThreads);
        try
        {
            var metadata = _session.ModelMetadata.CustomMetadataMap;
            var signature = new ModelSignature(
                _session.InputMetadata.Select(kv => Describe(kv.Key, kv.Value)).ToList(),
                _session.OutputMetadata.Select(kv => Describe(kv.Key, kv.Value)).ToList());
            _inputSpec = LayoutSelector.SelectInput(signature, ReadImageSize(metadata));
            _inputNames = [_inputSpec.Name];
            if (signature.Outputs.Any(o => !o.IsConcrete) && signature.Outputs.All(o => o.ElementType == "float32"))
            {
                signature = signature with { Outputs = ProbeOutputShapes(signature) };
            }

            var labels = options.LabelsPath is null ? null : ClassNames.ReadLabelsFile(options.LabelsPath);
            var metadataNames = labels is null ? ReadMetadataNames(path, metadata) : null;
            var hints = new LayoutHints((metadataNames ?? labels)?.Count,
                metadata.ContainsKey("task") || metadata.ContainsKey("imgsz"));
            _decoder = LayoutSelector.SelectDecoder(signature, _inputSpec, hints);
            var names = ResolveClassNames(path, options.LabelsPath, labels, metadataNames, _decoder);
            _outputNames = [.. _decoder.OutputNames];
            var shapes = _outputNames.Select(n => signature.Outputs.Single(o => o.Name == n).Shape.ToArray()).ToArray();
            _outputShapes = shapes;
            Info = new DetectorInfo(path, sha256, _inputSpec.Width, _inputSpec.Height, names, _decoder.Layout);
            Signature = signature;
            // Session creation freed the parsed protobuf and graph-optimization scratch; give those pages back.
            NativeHeap.Trim();
        }
        catch
        {
            _ownInput?.Dispose();
            _session.Dispose();
            _runOptions.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public DetectorInfo Info { get; }

    /// <summary>Model runs so far (each <see cref="Run"/> and <see cref="Detect"/>): shows which frames paid for inference.</summary>
    public long RunCount => Interlocked.Read(ref _runCount);

    /// <summary>The model's image input (name, layout, size).</summary>
    public InputSpec Input => _inputSpec;

    /// <summary>The graph's inputs and outputs, with output shapes made concrete by a probe run where they were dynamic.</summary>
    public ModelSignature Signature { get; }

    /// <summary>The options the detector was created with.</summary>
    public OnnxDetectorOptions Options => _options;

    /// <inheritdoc />
    public IReadOnlyList<PixelBox> Detect(DecodedImage image)
    {
        lock (_runLock)
        {
            _ownInput ??= new DetectorInput(_inputSpec);
            Prepare(image, _ownInput);
            return Run(_ownInput);
        }
    }

    /// <summary>
    /// A new preallocated input. Several inputs let decoding and letterboxing of the next image proceed on
    /// another thread while the model runs (see <see cref="PipelinedDetection"/>). Dispose it after use.
    /// </summary>
    public DetectorInput CreateInput() => new(_inputSpec);

    /// <summary>Letterboxes <paramref name="image"/> into <paramref name="input"/>. Safe to call concurrently with
    /// <see cref="Run"/> on a different input.</summary>
    public void Prepare(DecodedImage image, DetectorInput input)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(input);
        input.Fill(image);
    }

    /// <summary>Runs the model on a prepared input and returns boxes in original-image pixels (clipped, finite, non-empty).</summary>
    public IReadOnlyList<PixelBox> Run(DetectorInput input)
    {
        CheckFilled(input);
        // One run at a time, into the detector's one set of outputs (a device keeps a single output set).
        lock (_runLock)
        {
            return RunInto(input, _sharedScratch ??= new RunScratch(_outputShapes));
        }
    }

    /// <summary>
    /// Like <see cref="Run"/>, but into the input's own output tensors (made on its first such run), so runs on
    /// different inputs may overlap (<see cref="PipelinedDetection"/> with several runs in flight). Each input used
    /// this way holds one more set of outputs, and each overlapping run its own intermediate tensors.
    /// </summary>
    public IReadOnlyList<PixelBox> RunOverlapping(DetectorInput input)
    {
        CheckFilled(input);
        return RunInto(input, input.Scratch ??= new RunScratch(_outputShapes));
    }

    private static void CheckFilled(DetectorInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.IsFilled)
        {
            throw new InvalidOperationException("The input has not been prepared with an image.");
        }
    }

    private List<PixelBox> RunInto(DetectorInput input, RunScratch scratch)
    {
        // ONNX Runtime's Run is thread-safe for distinct output tensors; one input is never run twice at once.
        _session.Run(_runOptions, _inputNames, [input.Value], _outputNames, scratch.Values);
        Interlocked.Increment(ref _runCount);
        input.IsFilled = false;
        // Decoders keep per-anchor scratch arrays: decoding is serialized (it is a small part of a run).
        lock (_decodeLock)
        {
            scratch.Candidates.Clear();
            _decoder.Decode(scratch.Buffers, _options.ScoreFloor, scratch.Candidates);
            Nms.Apply(scratch.Candidates, _options.NmsIoU, _options.MaxDetections, scratch.Kept);
            return MapToOriginal(scratch.Kept, input, Info.ClassNames.Count);
        }
    }

    /// <summary>
    /// Maps NMS survivors from input pixels to original-image pixels, clipping to the image; boxes left with no
    /// area and classes without a name are dropped.
    /// </summary>
    internal static List<PixelBox> MapToOriginal(IReadOnlyList<Candidate> kept, DetectorInput input, int classCount)
    {
        var result = new List<PixelBox>(kept.Count);
        foreach (var c in kept)
        {
            if (c.ClassId < 0 || c.ClassId >= classCount)
            {
                continue;
            }

            if (BoxMapping.ToOriginal(c, input.Geometry, input.OriginalPerBitmapX, input.OriginalPerBitmapY, input.OriginalSize) is { } box)
            {
                result.Add(box);
            }
        }

        return result;
    }

    public void Dispose()
    {
        lock (_runLock)
        {
            _ownInput?.Dispose();
            _sharedScratch?.Dispose();
            _session.Dispose();
            _runOptions.Dispose();
        }
    }

    private static string HashFile(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"The model file '{path}' cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The session options every detector uses (also for like-for-like baselines such as the benchmarks'
    /// session-only runs). The caller disposes them.
    /// </summary>
    public static SessionOptions CreateSessionOptions(int intraOpThreads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(intraOpThreads, 1);
        var options = new SessionOptions
        {
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // The memory pattern plans one block for all intermediate tensors of a run and keeps it besides
            // the arena's own chunks; for a 640×640 YOLOv8n that cost ~22 MB of peak RSS in `edgelabel label`
            // (docs/benchmarks.md) for no measurable speed gain on fixed-size inputs, where the arena reuses
            // the same chunks every run anyway.
            EnableMemoryPattern = false,
        };
        // Spinning worker threads would steal the core the decoder thread needs when decode and inference overlap.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    private static InferenceSession CreateSession(string path, int threads)
    {
        var options = CreateSessionOptions(threads);
        try
        {
            return new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException ex)
        {
            var notOnnx = ex.Message.Contains("protobuf", StringComparison.OrdinalIgnoreCase) ||
                          ex.Message.Contains("INVALID_GRAPH", StringComparison.Ordinal);
            throw new ModelLoadException(notOnnx
                ? $"'{path}' is not an ONNX model: {ex.Message}"
                : $"'{path}' could not be loaded by ONNX Runtime: {ex.Message}", ex);
        }
        finally
        {
            options.Dispose();
        }
    }

    private static TensorSignature Describe(string name, NodeMetadata node)
    {
        if (!node.IsTensor)
        {
            return new TensorSignature(name, node.OnnxValueType.ToString(), [], []);
        }

        var type = node.ElementDataType switch
        {
            TensorElementType.Float => "float32",
            TensorElementType.UInt8 => "uint8",
            var other => other.ToString().ToLowerInvariant(),
        };
        return new TensorSignature(name, type, node.Dimensions.Select(d => (long)d).ToArray(),
            node.SymbolicDimensions ?? []);
    }

    /// <summary>Runs the model once on a gray image to learn the real output shapes of a dynamic graph.</summary>
    private List<TensorSignature> ProbeOutputShapes(ModelSignature signature)
    {
        _ownInput ??= new DetectorInput(_inputSpec);
        _ownInput.FillGray();
        var names = signature.Outputs.Select(o => o.Name).ToArray();
        try
        {
            using var results = _session.Run(_runOptions, _inputNames, [_ownInput.Value], names);
            return signature.Outputs.Select((o, i) =>
                o with { Shape = results[i].GetTensorTypeAndShape().Shape, SymbolicNames = [] }).ToList();
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelLoadException(
                $"The model failed a probe run on a {_inputSpec.Width}×{_inputSpec.Height} gray image: {ex.Message}. {signature.Describe()}", ex);
        }
    }

    private static (int Width, int Height)? ReadImageSize(IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("imgsz", out var text))
        {
            return null;
        }

        var numbers = DigitsRegex().Matches(text).Select(m => int.Parse(m.Value, CultureInfo.InvariantCulture)).ToArray();
        return numbers.Length switch
        {
            1 => (numbers[0], numbers[0]),
            2 => (numbers[1], numbers[0]), // Ultralytics writes [height, width]
            _ => null,
        };
    }

    private static IReadOnlyList<string>? ReadMetadataNames(string modelPath, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("names", out var text))
        {
            return null;
        }

        try
        {
            var names = ClassNames.ParseMetadata(text);
            return names.Count > 0 ? names : null;
        }
        catch (FormatException ex)
        {
            throw new ModelLoadException($"The 'names' metadata of '{modelPath}' cannot be read: {ex.Message} Pass a labels file instead.", ex);
        }
    }

    private static IReadOnlyList<string> ResolveClassNames(string modelPath, string? labelsPath,
        IReadOnlyList<string>? labels, IReadOnlyList<string>? metadataNames, OutputDecoder decoder)
    {
        var classCount = decoder.ClassCount;
        if (labels is not null)
        {
            if (classCount is { } n && labels.Count < n)
            {
                throw new ModelLoadException(
                    $"The labels file '{labelsPath}' has {labels.Count} names but the model '{modelPath}' predicts {n} classes.");
            }

            return labels;
        }

        if (metadataNames is not null)
        {
            if (classCount is { } n && metadataNames.Count < n)
            {
                throw new ModelLoadException(
                    $"The 'names' metadata of '{modelPath}' has {metadataNames.Count} names but the model predicts {n} classes. Pass a labels file instead.");
            }

            return metadataNames;
        }

        if (classCount is { } count)
        {
            return ClassNames.Fallback(count);
        }

        throw new ModelLoadException(
            $"The {decoder.Layout} outputs of '{modelPath}' do not reveal the class count and the model has no 'names' metadata; pass a labels file.");
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex DigitsRegex();
}
