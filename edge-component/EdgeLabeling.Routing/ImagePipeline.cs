using System.Collections.Concurrent;
using EdgeLabeling.Inference;

namespace EdgeLabeling.Routing;

/// <summary>One item of an <see cref="ImagePipeline"/> run: the caller's item and its decision (null when it could not be read).</summary>
/// <typeparam name="T">The caller's item type (a file path, an inbox frame).</typeparam>
public readonly record struct PipelineDecision<T>(T Item, ImageDecision? Decision);

/// <summary>
/// The one edge image pipeline, used by <c>edgelabel label</c> and by the device's intake worker: reading,
/// hashing and decoding run ahead on pool threads (bounded read-ahead), an <see cref="OnnxDetector"/> letterboxes
/// the next frame while the model runs on the current one (<see cref="PipelinedDetection"/>), and the duplicate
/// check and routing consume strictly in input order — so decisions are the same whatever the thread count, and
/// the same as deciding one frame after the other. With a model, the duplicate check runs just before a frame would
/// be letterboxed, so near-duplicates skip inference.
/// </summary>
public static class ImagePipeline
{
    /// <summary>Decisions in the order of <paramref name="items"/>.</summary>
    /// <param name="labeler">Decides each frame; no other caller may use its detector during the enumeration.</param>
    /// <param name="items">Items in processing order, enumerated as read-ahead needs them (on a background thread with an ONNX model).</param>
    /// <param name="read">
    /// Reads one item (on a pool thread). Null means "not readable now": the item comes back with a null decision,
    /// in its place, and nothing about it is remembered (no duplicate-cache entry). An exception ends the enumeration.
    /// </param>
    /// <param name="decodeThreads">Pool threads reading and decoding ahead (each keeps at most two frames in flight).</param>
    /// <param name="cancellationToken">Stops reading ahead and ends the enumeration.</param>
    /// <param name="concurrentRuns">Model runs in flight at once (see <see cref="PipelinedDetection"/>); decisions stay in input order.</param>
    public static IEnumerable<PipelineDecision<T>> DecideInOrder<T>(ImageLabeler labeler, IEnumerable<T> items, Func<T, ImageInput?> read,
        int decodeThreads, CancellationToken cancellationToken = default, int concurrentRuns = 1)
    {
        ArgumentNullException.ThrowIfNull(labeler);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(read);
        ArgumentOutOfRangeException.ThrowIfLessThan(decodeThreads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrentRuns, 1);
        var prepared = ReadAhead(labeler, items, read, decodeThreads, cancellationToken);
        if (labeler.DetectorInstance is OnnxDetector onnx)
        {
            foreach (var decision in DecideWithModel(labeler, onnx, prepared, concurrentRuns, cancellationToken))
            {
                yield return decision;
            }

            yield break;
        }

        foreach (var (item, image) in prepared)
        {
            if (image is null)
            {
                yield return new PipelineDecision<T>(item, null);
                continue;
            }

            using (image)
            {
                yield return new PipelineDecision<T>(item, labeler.Complete(image));
            }
        }
    }

    /// <summary>
    /// The model path: <see cref="PipelinedDetection"/> letterboxes frame k+1 while the model runs on frame k. The
    /// duplicate check runs on its decode thread, in input order, before a frame is letterboxed, so a near-duplicate
    /// never reaches the model; the decisions are those of <see cref="ImageLabeler.Complete(PreparedImage)"/> one frame
    /// after the other, because that check sees the frames in the same order with the same remembered frames.
    /// Checking ahead remembers up to a few frames before their decisions are handed out: when the enumeration ends
    /// early (the caller stopped, e.g. after <see cref="ImageLabeler.Abandon"/>, or an error), the frames remembered
    /// but never handed out are forgotten again, so taking them again later finds what deciding them in order would.
    /// </summary>
    private static IEnumerable<PipelineDecision<T>> DecideWithModel<T>(ImageLabeler labeler, OnnxDetector onnx,
        IEnumerable<(T Item, PreparedImage? Image)> prepared, int concurrentRuns, CancellationToken cancellationToken)
    {
        // Frames the decode thread remembered as new, in input order; the consumer takes each off as it hands it out.
        var rememberedAhead = new ConcurrentQueue<PreparedImage>();
        var handedOut = 0;
        try
        {
            var results = PipelinedDetection.RunAsync(onnx, prepared, p => TakeForModel(labeler, p, rememberedAhead), cancellationToken, concurrentRuns)
                .ToBlockingEnumerable(cancellationToken);
            foreach (var r in results)
            {
                var (item, image) = r.Item;
                if (image is null)
                {
                    yield return new PipelineDecision<T>(item, null);
                    continue;
                }

                if (image.DuplicateChecked && !image.IsDuplicate)
                {
                    handedOut++;
                    if (r.Rejection is not null)
                    {
                        // Letterboxing refused a frame already remembered: one decided alone would never have been.
                        labeler.Policy.ForgetFrame(image.Input.Camera, image.Sha256);
                    }
                }

                // Skipped frames (duplicates) and rejected ones are decided from the frame alone; the rest from the model's boxes.
                var decision = r.Rejection is null && !image.IsDuplicate ? labeler.Complete(image, r.Boxes) : labeler.Complete(image);
                yield return new PipelineDecision<T>(item, decision);
            }
        }
        finally
        {
            // The pipeline has stopped (its producer is awaited when the results end): nothing is added any more.
            foreach (var frame in rememberedAhead.Skip(handedOut))
            {
                labeler.Policy.ForgetFrame(frame.Input.Camera, frame.Sha256);
            }
        }
    }

    // Runs on the pipeline's decode thread, in input order. A frame that was not read goes through the model pipeline
    // as a rejection (no input is prepared for it), so it keeps its place in the order; the caller sees it as a null
    // decision. A near-duplicate answers null: the pipeline skips the model for it.
    private static DecodedImage? TakeForModel<T>(ImageLabeler labeler, (T Item, PreparedImage? Image) p, ConcurrentQueue<PreparedImage> rememberedAhead)
    {
        if (p.Image is not { } image)
        {
            throw new ImageRejectedException("not-read", "the frame could not be read");
        }

        if (image.RejectReason is null && image.Size is not null)
        {
            if (labeler.CheckDuplicate(image))
            {
                image.Dispose();
                return null;
            }

            rememberedAhead.Enqueue(image);
        }

        return image.TakeImage() ?? throw new ImageRejectedException(image.RejectReason ?? ImageLabeler.DecodeFailedReason, image.RejectMessage ?? "the image was not decoded");
    }

    private static IEnumerable<(T Item, PreparedImage? Image)> ReadAhead<T>(ImageLabeler labeler, IEnumerable<T> items, Func<T, ImageInput?> read,
        int threads, CancellationToken cancellationToken)
    {
        var queue = new Queue<Task<(T, PreparedImage?)>>();
        using var source = items.GetEnumerator();
        var more = true;
        try
        {
            while (true)
            {
                while (more && queue.Count < threads * 2)
                {
                    more = source.MoveNext();
                    if (more)
                    {
                        var item = source.Current;
                        queue.Enqueue(Task.Run(() => (item, read(item) is { } input ? labeler.Prepare(input) : null), CancellationToken.None));
                    }
                }

                if (queue.Count == 0)
                {
                    yield break;
                }

                cancellationToken.ThrowIfCancellationRequested();
                yield return queue.Dequeue().GetAwaiter().GetResult();
            }
        }
        finally
        {
            // Let reads already started finish, then drop their pixels.
            while (queue.Count > 0)
            {
                try
                {
                    queue.Dequeue().GetAwaiter().GetResult().Item2?.Dispose();
                }
                catch (Exception)
                {
                    // The run is already ending for another reason; that one is reported.
                }
            }
        }
    }
}
