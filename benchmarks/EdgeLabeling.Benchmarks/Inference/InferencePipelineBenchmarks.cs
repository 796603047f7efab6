using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EdgeLabeling.Inference;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace EdgeLabeling.Benchmarks.Inference;

/// <summary>
/// End-to-end edge inference (decode + letterbox + model + output decoding/NMS) against the bare
/// <c>session.Run</c> rate on the same model, the same images and the same thread count.
/// Models: the committed demo model plus EDGELABEL_BENCH_MODEL (e.g. the YOLOv8n-sized model scripts/bench.sh
/// generates). Images: EDGELABEL_BENCH_IMAGES (default samples/images; synthetic 640×480 JPEGs when absent).
/// </summary>
[Config(typeof(ShortInProcessConfig))]
public class InferencePipelineBenchmarks
{
    /// <summary>Images per benchmark invocation; results are reported per image.</summary>
    internal const int Batch = 24;

    private OnnxDetector _detector = null!;
    private ImageDecoder _decoder = null!;
    private byte[][] _images = null!;
    private InferenceSession _session = null!;
    private DetectorInput[] _prepared = null!;
    private OrtValue[] _outputs = null!;
    private string[] _inputNames = null!;
    private string[] _outputNames = null!;
    private RunOptions _runOptions = null!;

    /// <summary>Model file to measure.</summary>
    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "";

    /// <summary>ONNX Runtime intra-op threads (the edge default is 1).</summary>
    [Params(1)]
    public int Threads { get; set; }

    public static IEnumerable<string> Models()
    {
        var demo = Path.Combine(RepoRoot(), "samples", "models", "parts-detector.onnx");
        if (File.Exists(demo))
        {
            yield return demo;
        }

        if (Environment.GetEnvironmentVariable("EDGELABEL_BENCH_MODEL") is { Length: > 0 } extra)
        {
            yield return Path.GetFullPath(extra);
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        _detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = Model, IntraOpThreads = Threads });
        _decoder = new ImageDecoder();
        _images = LoadImages();

        // The baseline: a separate session with the detector's exact options, fed inputs letterboxed up front.
        using var options = OnnxDetector.CreateSessionOptions(Threads);
        _session = new InferenceSession(Model, options);
        _runOptions = new RunOptions();
        _inputNames = [_detector.Input.Name];
        _outputNames = [.. _session.OutputMetadata.Keys];
        _prepared = _images.Select(bytes =>
        {
            using var image = _decoder.Decode(bytes, _detector.Info.InputWidth, _detector.Info.InputHeight);
            var input = _detector.CreateInput();
            _detector.Prepare(image, input);
            return input;
        }).ToArray();
        using (var probe = _session.Run(_runOptions, _inputNames, [InputValue(_prepared[0])], _outputNames))
        {
            _outputs = probe.Select(o => OrtValue.CreateTensorValueFromMemory(
                new float[o.GetTensorTypeAndShape().ElementCount], o.GetTensorTypeAndShape().Shape)).ToArray();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var o in _outputs)
        {
            o.Dispose();
        }

        foreach (var p in _prepared)
        {
            p.Dispose();
        }

        _runOptions.Dispose();
        _session.Dispose();
        _detector.Dispose();
    }

    /// <summary>Only <c>session.Run</c> on already letterboxed inputs with preallocated outputs.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void SessionOnly()
    {
        for (var i = 0; i < Batch; i++)
        {
            _session.Run(_runOptions, _inputNames, [InputValue(_prepared[i % _prepared.Length])], _outputNames, _outputs);
        }
    }

    /// <summary>Decode, letterbox, run, decode outputs and NMS, one image after the other on one thread.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int Sequential()
    {
        var boxes = 0;
        for (var i = 0; i < Batch; i++)
        {
            using var image = _decoder.Decode(_images[i % _images.Length], _detector.Info.InputWidth, _detector.Info.InputHeight);
            boxes += _detector.Detect(image).Count;
        }

        return boxes;
    }

    /// <summary>The same work with decoding of image k+1 overlapped with inference on image k.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public async Task<int> Pipelined()
    {
        var boxes = 0;
        await foreach (var r in PipelinedDetection.RunAsync(_detector, _decoder, Enumerable.Range(0, Batch), i => _images[i % _images.Length]))
        {
            boxes += r.Boxes.Count;
        }

        return boxes;
    }

    private static OrtValue InputValue(DetectorInput input) => input.Value;

    private static byte[][] LoadImages()
    {
        var folder = Environment.GetEnvironmentVariable("EDGELABEL_BENCH_IMAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(RepoRoot(), "samples", "images");
        if (Directory.Exists(folder))
        {
            var files = Directory.EnumerateFiles(folder)
                .Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal).Take(Batch).Select(File.ReadAllBytes).ToArray();
            if (files.Length > 0)
            {
                return files;
            }
        }

        // Fallback so the benchmark runs anywhere: textured 640×480 JPEGs (noise decodes like a real photo, flat color would not).
        var random = new Random(42);
        return Enumerable.Range(0, Batch).Select(_ =>
        {
            using var bmp = new SKBitmap(new SKImageInfo(640, 480, SKColorType.Rgba8888, SKAlphaType.Premul));
            random.NextBytes(bmp.GetPixelSpan());
            using var image = SKImage.FromBitmap(bmp);
            using var data = image.Encode(SKEncodedImageFormat.Jpeg, 85);
            return data.ToArray();
        }).ToArray();
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeLabelingStack.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }

    /// <summary>Few iterations in-process: the models are slow and the machine's two cores are shared.</summary>
    private sealed class ShortInProcessConfig : ManualConfig
    {
        public ShortInProcessConfig()
        {
            AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(2).WithIterationCount(5));
            AddColumn(StatisticColumn.OperationsPerSecond);
            SummaryStyle = BenchmarkDotNet.Reports.SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend);
        }
    }
}
