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
/// the same as deciding one frame after the other.
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
    public static IEnumerable<PipelineDecision<T>> DecideInOrder<T>(ImageLabeler labeler, IEnumerable<T> items, Func<T, ImageInput?> read,
        int decodeThreads, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labeler);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(read);
        ArgumentOutOfRangeException.ThrowIfLessThan(decodeThreads, 1);
        var prepared = ReadAhead(labeler, items, read, decodeThreads, cancellationToken);
        if (labeler.DetectorInstance is OnnxDetector onnx)
        {
            // Frames that turn out to be duplicates are inferred anyway on this path: the duplicate check must
            // run in order, after the pipeline has already started on them. Decisions are the same.
            var results = PipelinedDetection.RunAsync(onnx, prepared, TakeDecoded, cancellationToken).ToBlockingEnumerable(cancellationToken);
            foreach (var r in results)
            {
                var (item, image) = r.Item;
                if (image is null)
                {
                    yield return new PipelineDecision<T>(item, null);
                    continue;
                }

                yield return new PipelineDecision<T>(item, r.Rejection is null ? labeler.Complete(image, r.Boxes) : labeler.Complete(image));
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

    // A frame that was not read goes through the model pipeline as a rejection (no input is prepared for it),
    // so it keeps its place in the order; the caller sees it as a null decision.
    private static DecodedImage TakeDecoded<T>((T Item, PreparedImage? Image) p) =>
        p.Image is null
            ? throw new ImageRejectedException("not-read", "the frame could not be read")
            : p.Image.TakeImage() ?? throw new ImageRejectedException(p.Image.RejectReason ?? ImageLabeler.DecodeFailedReason, p.Image.RejectMessage ?? "the image was not decoded");

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
