using EdgeLabeling.Contracts;

namespace EdgeLabeling.Inference;

/// <summary>
/// The inference seam: one implementation owns one ONNX session, created once and reused for
/// every image. Implementations are not required to be thread-safe; callers serialize calls.
/// </summary>
public interface IDetector : IDisposable
{
    DetectorInfo Info { get; }

    /// <summary>
    /// Runs letterbox, the model and output decoding (with class-aware NMS) on a decoded image.
    /// Boxes come back in pixels of the oriented original image, clipped to it, finite, non-empty.
    /// </summary>
    IReadOnlyList<PixelBox> Detect(DecodedImage image);
}

/// <summary>What the loaded model is.</summary>
/// <param name="ModelPath">Path the model was loaded from.</param>
/// <param name="ModelSha256">Lower-case hex SHA-256 of the model file (provenance).</param>
/// <param name="InputWidth">Model input width in pixels.</param>
/// <param name="InputHeight">Model input height in pixels.</param>
/// <param name="ClassNames">Class names indexed by class id.</param>
/// <param name="Layout">Output decoder chosen from the model signature, e.g. "yolov8", "yolov5", "ssd".</param>
public sealed record DetectorInfo(string ModelPath, string ModelSha256, int InputWidth, int InputHeight, IReadOnlyList<string> ClassNames, string Layout);
