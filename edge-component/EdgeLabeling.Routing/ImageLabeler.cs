using System.Security.Cryptography;
using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;

namespace EdgeLabeling.Routing;

/// <summary>
/// An image after the parallelizable half of the work (hash, sniff, decode, perceptual hash) and before
/// the serial half (duplicate check, inference, routing). Owns the decoded pixels until
/// <see cref="ImageLabeler.Complete"/> consumes it.
/// </summary>
public sealed class PreparedImage : IDisposable
{
    internal PreparedImage(ImageInput input, string sha256, string extension, DecodedImage? image, ulong perceptualHash, string? rejectReason, string? rejectMessage)
    {
        Size = image?.OriginalSize;
        Input = input;
        Sha256 = sha256;
        Extension = extension;
        Image = image;
        PerceptualHash = perceptualHash;
        RejectReason = rejectReason;
        RejectMessage = rejectMessage;
    }

    /// <summary>The frame.</summary>
    public ImageInput Input { get; }

    /// <summary>Lower-case hex SHA-256 of the bytes.</summary>
    public string Sha256 { get; }

    /// <summary>"jpg"/"png" from the magic bytes, "bin" otherwise.</summary>
    public string Extension { get; }

    /// <summary>Oriented original size; null when the image was rejected.</summary>
    public ImageSize? Size { get; }

    /// <summary>Decoded pixels; null when the image was rejected or already handed on.</summary>
    public DecodedImage? Image { get; private set; }

    /// <summary>dHash of the decoded image (0 when rejected).</summary>
    public ulong PerceptualHash { get; }

    /// <summary>Quarantine reason when the image could not be decoded, else null.</summary>
    public string? RejectReason { get; }

    /// <summary>Human-readable detail of the rejection.</summary>
    public string? RejectMessage { get; }

    /// <summary>True once the duplicate check has run for this frame (<see cref="ImageLabeler.CheckDuplicate"/>).</summary>
    internal bool DuplicateChecked { get; private set; }

    /// <summary>The kept frame this one duplicates, when the check found one.</summary>
    internal string? DuplicateOf { get; private set; }

    /// <summary>The check found a kept frame this one duplicates: it needs no inference.</summary>
    internal bool IsDuplicate => DuplicateOf is not null;

    internal void SetDuplicateCheck(string? duplicateOf)
    {
        DuplicateChecked = true;
        DuplicateOf = duplicateOf;
    }

    /// <summary>Hands the decoded pixels (and their disposal) to the caller; null when rejected or already taken.</summary>
    public DecodedImage? TakeImage()
    {
        var image = Image;
        Image = null;
        return image;
    }

    /// <inheritdoc />
    public void Dispose() => TakeImage()?.Dispose();
}

/// <summary>
/// Decode (Inference <see cref="ImageDecoder"/>) → <see cref="IDetector.Detect"/> → <see cref="RoutingPolicy"/>.
/// Never throws for a bad image: it is quarantined with the decoder's reason.
/// <see cref="Prepare"/> is thread-safe and can run ahead on several threads;
/// <see cref="Complete"/> must be called by one thread at a time, in the order frames should be judged
/// (the detector is not thread-safe and duplicate detection depends on order).
/// </summary>
public sealed class ImageLabeler : IImageLabeler
{
    /// <summary>Reason used when the detector itself fails on a decodable image.</summary>
    public const string InferenceFailedReason = "inference-failed";

    /// <summary>Reason used when the decoder fails with something other than a rejection.</summary>
    public const string DecodeFailedReason = "decode-failed";

    private readonly IDetector _detector;
    private readonly ImageDecoder _decoder;

    /// <summary>Creates a labeler over one detector (owned by the caller) and one policy.</summary>
    public ImageLabeler(IDetector detector, RoutingPolicy policy, ImageDecoder? decoder = null)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(policy);
        if (!detector.Info.ClassNames.SequenceEqual(policy.ClassNames, StringComparer.Ordinal))
        {
            throw new ArgumentException("the policy was built for other class names than the detector's", nameof(policy));
        }

        _detector = detector;
        _decoder = decoder ?? new ImageDecoder();
        Policy = policy;
    }

    /// <inheritdoc />
    public DetectorInfo Detector => _detector.Info;

    /// <summary>The detector itself (to choose a pipelined path for a concrete implementation).</summary>
    public IDetector DetectorInstance => _detector;

    /// <summary>The routing rules in force.</summary>
    public RoutingPolicy Policy { get; }

    /// <inheritdoc />
    public ImageDecision Process(ImageInput input) => Complete(Prepare(input));

    /// <summary>Decode threads of <see cref="DecideInOrder{T}"/>: one decodes ahead while the model runs (a device has few cores).</summary>
    public int DecodeThreads { get; init; } = 1;

    /// <inheritdoc />
    public IEnumerable<PipelineDecision<T>> DecideInOrder<T>(IEnumerable<T> items, Func<T, ImageInput?> read, CancellationToken cancellationToken = default) =>
        ImagePipeline.DecideInOrder(this, items, read, DecodeThreads, cancellationToken);

    /// <inheritdoc />
    public void Abandon(ImageDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        // Only a frame that was kept as new was remembered; a duplicate or a quarantined frame never was.
        if (decision.Outcome is not (RoutingOutcome.Duplicate or RoutingOutcome.Quarantine))
        {
            Policy.ForgetFrame(decision.Input.Camera, decision.Sha256);
        }
    }

    /// <summary>Hashes, sniffs and decodes one frame. Thread-safe; never throws for bad bytes.</summary>
    public PreparedImage Prepare(ImageInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var bytes = input.Bytes.Span;
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var extension = ImageDecoder.ExtensionOf(ImageDecoder.Sniff(bytes));
        DecodedImage? image = null;
        try
        {
            // Decoding at model scale: large JPEG frames are never expanded to full size for a small model.
            image = _decoder.Decode(bytes, Detector.InputWidth, Detector.InputHeight);
            var hash = PerceptualHash.Compute(image.Bitmap);
            return new PreparedImage(input, sha, extension, image, hash, null, null);
        }
        catch (ImageRejectedException ex)
        {
            image?.Dispose();
            return new PreparedImage(input, sha, extension, null, 0, ex.Reason, ex.Message);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            image?.Dispose();
            return new PreparedImage(input, sha, extension, null, 0, DecodeFailedReason, ex.Message);
        }
    }

    /// <summary>
    /// Runs the duplicate check of <see cref="Complete(PreparedImage)"/> now, so that a near-duplicate can skip
    /// inference (<see cref="ImagePipeline"/> calls it on its decode thread, in input order, before the model sees
    /// the frame); <see cref="Complete(PreparedImage)"/> then uses this answer instead of checking again. A frame that
    /// is not a duplicate is remembered from this moment on. A rejected frame is never checked (it is quarantined,
    /// as in <see cref="Complete(PreparedImage)"/>). Same ordering rule as Complete: one thread, input order.
    /// </summary>
    /// <returns>True when the frame is a near-duplicate of a kept one.</returns>
    internal bool CheckDuplicate(PreparedImage prepared)
    {
        if (prepared.RejectReason is not null || prepared.Size is null || prepared.DuplicateChecked)
        {
            return prepared.IsDuplicate;
        }

        prepared.SetDuplicateCheck(Policy.FindDuplicate(prepared.Input.Camera, prepared.Input.CaptureTime, prepared.PerceptualHash, prepared.Sha256));
        return prepared.IsDuplicate;
    }

    /// <summary>Duplicate check, inference and routing for a prepared frame; disposes its pixels.</summary>
    public ImageDecision Complete(PreparedImage prepared)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        using var image = prepared.TakeImage();
        return Decide(prepared, image is null ? null : () => _detector.Detect(image));
    }

    /// <summary>
    /// Duplicate check and routing for a frame whose detections were computed elsewhere (e.g. by
    /// <see cref="PipelinedDetection"/>, which overlaps letterboxing with inference); disposes its pixels.
    /// </summary>
    public ImageDecision Complete(PreparedImage prepared, IReadOnlyList<PixelBox> detections)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        ArgumentNullException.ThrowIfNull(detections);
        prepared.Dispose();
        return Decide(prepared, () => detections);
    }

    private ImageDecision Decide(PreparedImage prepared, Func<IReadOnlyList<PixelBox>>? detect)
    {
        // A duplicate found ahead (CheckDuplicate) needs neither pixels nor detections.
        if (prepared.RejectReason is not null || prepared.Size is not { } size || (detect is null && !prepared.IsDuplicate))
        {
            return Decision(prepared, null, RoutingOutcome.Quarantine, prepared.RejectReason ?? DecodeFailedReason, [], prepared.RejectMessage);
        }

        var duplicateOf = prepared.DuplicateChecked
            ? prepared.DuplicateOf
            : Policy.FindDuplicate(prepared.Input.Camera, prepared.Input.CaptureTime, prepared.PerceptualHash, prepared.Sha256);
        if (duplicateOf is not null)
        {
            return Decision(prepared, size, RoutingOutcome.Duplicate, RoutingReasons.DuplicateOf(duplicateOf), [], null);
        }

        IReadOnlyList<PixelBox> detections;
        RouteResult route;
        try
        {
            detections = detect!();
            route = Policy.Route(prepared.Sha256, detections);
        }
        catch (ImageRejectedException ex)
        {
            return Decision(prepared, size, RoutingOutcome.Quarantine, ex.Reason, [], ex.Message);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A model that fails on one input must not stop the run; the frame is kept in quarantine for a retry.
            return Decision(prepared, size, RoutingOutcome.Quarantine, InferenceFailedReason, [], ex.Message);
        }

        return Decision(prepared, size, route.Outcome, route.Reason, route.Boxes, null) with { RawDetectionCount = detections.Count };
    }

    private static ImageDecision Decision(PreparedImage p, ImageSize? size, RoutingOutcome outcome, string reason, IReadOnlyList<PixelBox> boxes, string? detail) =>
        new(p.Input, p.Sha256, p.Extension, size, outcome, reason, boxes) { Detail = detail, PerceptualHash = p.PerceptualHash };
}
