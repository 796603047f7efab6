using EdgeLabeling.Contracts;

namespace EdgeLabeling.Routing;

/// <summary>One frame handed to the labeler: its bytes (already fully written), where it came from and when.</summary>
/// <param name="SourcePath">File the bytes were read from (for messages and the sidecar).</param>
/// <param name="Bytes">The complete file content.</param>
/// <param name="Camera">Camera id (duplicate detection is per camera); null means "default".</param>
/// <param name="CaptureTime">Capture time (file time when the camera gives none).</param>
public sealed record ImageInput(string SourcePath, ReadOnlyMemory<byte> Bytes, string? Camera, DateTimeOffset CaptureTime);

/// <summary>The one decision made for one image, with its reason.</summary>
/// <param name="Input">What was decided about.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the bytes (content address).</param>
/// <param name="Extension">"jpg" or "png" as detected from the content (not the file name); "bin" when unreadable.</param>
/// <param name="Size">Oriented image size; null when quarantined before decoding.</param>
/// <param name="Outcome">The routing outcome.</param>
/// <param name="Reason">Short machine-readable reason, e.g. "all-confident", "uncertain:nut@0.41", "truncated-jpeg".</param>
/// <param name="Boxes">Kept detections (background removed, capped), original pixels.</param>
public sealed record ImageDecision(
    ImageInput Input,
    string Sha256,
    string Extension,
    ImageSize? Size,
    RoutingOutcome Outcome,
    string Reason,
    IReadOnlyList<PixelBox> Boxes)
{
    /// <summary>Human-readable detail for a quarantine (the decoder's or detector's message); null otherwise.</summary>
    public string? Detail { get; init; }

    /// <summary>64-bit dHash of the decoded image (0 when it could not be decoded).</summary>
    public ulong PerceptualHash { get; init; }

    /// <summary>How many boxes the detector returned before background removal and the cap.</summary>
    public int RawDetectionCount { get; init; }
}

/// <summary>Decode → detect → route. Never throws for bad images: they are quarantined.</summary>
public interface IImageLabeler
{
    EdgeLabeling.Inference.DetectorInfo Detector { get; }

    /// <summary>Decides one frame.</summary>
    ImageDecision Process(ImageInput input);

    /// <summary>
    /// Decides frames in the order given (the real labeler overlaps reading, decoding and inference, see
    /// <see cref="ImagePipeline"/>). <paramref name="read"/> answering null skips an item (null decision, nothing
    /// remembered). This default decides one frame after the other.
    /// </summary>
    IEnumerable<PipelineDecision<T>> DecideInOrder<T>(IEnumerable<T> items, Func<T, ImageInput?> read, CancellationToken cancellationToken = default)
    {
        foreach (var item in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new PipelineDecision<T>(item, read(item) is { } input ? Process(input) : null);
        }
    }

    /// <summary>
    /// Forgets a decision the caller could not keep (the queue refused the frame): a frame taken again later
    /// must not be found a near-duplicate of itself. This default remembers nothing, so forgets nothing.
    /// The real labeler's pipeline checks a few frames ahead for duplicates (so that they skip inference): end the
    /// enumeration after abandoning a decision, as the intake worker does, and the frames checked ahead are forgotten too.
    /// </summary>
    void Abandon(ImageDecision decision)
    {
    }
}
