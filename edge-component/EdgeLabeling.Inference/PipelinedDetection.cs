using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Inference;

/// <summary>The outcome for one item of a <see cref="PipelinedDetection"/> run.</summary>
/// <typeparam name="T">The caller's item type.</typeparam>
/// <param name="Item">The item, as given.</param>
/// <param name="Image">
/// The decoded image (null when rejected). It is disposed when the enumeration moves on, so read what you need
/// (e.g. a perceptual hash) before asking for the next result.
/// </param>
/// <param name="Boxes">Detections in original-image pixels (empty when rejected).</param>
/// <param name="Rejection">Why the item could not be decoded, or null.</param>
public sealed record PipelinedResult<T>(T Item, DecodedImage? Image, IReadOnlyList<PixelBox> Boxes, ImageRejectedException? Rejection)
{
    /// <summary>Oriented original size, or null when rejected.</summary>
    public ImageSize? Size => Image?.OriginalSize;
}

/// <summary>
/// Overlaps decoding with inference: while the model runs on image k (on the enumerating thread), a dedicated
/// thread decodes and letterboxes image k+1 into a second preallocated input. With one intra-op thread this keeps
/// both cores busy, so when the second core is free, throughput approaches the model-only rate instead of
/// 1 / (decode time + model time). Results come back in input order.
/// </summary>
public static class PipelinedDetection
{
    /// <summary>Decodes bytes with <paramref name="decoder"/> (scaled to the model input) and detects.</summary>
    /// <param name="detector">The detector; no other caller may use it during the enumeration.</param>
    /// <param name="decoder">The image decoder.</param>
    /// <param name="items">Items in processing order (enumerated on a background thread).</param>
    /// <param name="bytesOf">Reads an item's encoded bytes (called on the background thread).</param>
    /// <param name="cancellationToken">Stops decoding ahead and ends the enumeration.</param>
    /// <param name="concurrentRuns">Model runs in flight at once (see the other overload).</param>
    public static IAsyncEnumerable<PipelinedResult<T>> RunAsync<T>(OnnxDetector detector, ImageDecoder decoder,
        IEnumerable<T> items, Func<T, ReadOnlyMemory<byte>> bytesOf, CancellationToken cancellationToken = default, int concurrentRuns = 1)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(bytesOf);
        var (w, h) = (detector.Info.InputWidth, detector.Info.InputHeight);
        return RunAsync(detector, items, item => decoder.Decode(bytesOf(item).Span, w, h), cancellationToken, concurrentRuns);
    }

    /// <summary>Runs a caller-supplied decode step ahead of inference.</summary>
    /// <param name="detector">The detector; no other caller may use it during the enumeration.</param>
    /// <param name="items">Items in processing order (enumerated on a background thread).</param>
    /// <param name="decode">
    /// Decodes one item (called on the background thread, in input order). Throwing <see cref="ImageRejectedException"/>
    /// yields a rejected result; answering null skips the model for that item (a result with no image, no boxes and no
    /// rejection, in its place); any other exception ends the enumeration with that exception.
    /// </param>
    /// <param name="cancellationToken">Stops decoding ahead and ends the enumeration.</param>
    /// <param name="concurrentRuns">
    /// Model runs in flight at once, each on its own input (default 1: the run happens on the enumerating thread).
    /// With a single-threaded session on a small model, two overlapping runs use two cores far better than one run
    /// with two intra-op threads (docs/benchmarks.md); results still come back in input order.
    /// </param>
    public static async IAsyncEnumerable<PipelinedResult<T>> RunAsync<T>(OnnxDetector detector, IEnumerable<T> items,
        Func<T, DecodedImage?> decode, [EnumeratorCancellation] CancellationToken cancellationToken = default, int concurrentRuns = 1)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(decode);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrentRuns, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(concurrentRuns, 16);

        // One input per run in flight and one being filled. More would only add memory, as the model is the bottleneck.
        var depth = concurrentRuns + 1;
        var inputs = Enumerable.Range(0, depth).Select(_ => detector.CreateInput()).ToArray();
        var free = Channel.CreateBounded<DetectorInput>(depth);
        foreach (var input in inputs)
        {
            free.Writer.TryWrite(input);
        }

        var ready = Channel.CreateBounded<Prepared<T>>(new BoundedChannelOptions(depth) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // A dedicated thread with blocking hand-offs rather than pool work items: on a 2-core device every
        // pool hop costs a wake-up and idle pool workers spin, which eats into the core the model runs on.
        var producer = Task.Factory.StartNew(() => Produce(detector, items, decode, free.Reader, ready.Writer, stop.Token),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            // Runs start in input order as inputs become ready and are handed out in input order: the oldest
            // run is awaited while the younger ones (and the filling of the next input) keep the cores busy. One run
            // at a time runs inline on this thread, into the detector's shared outputs (what a device does).
            var inFlight = new Queue<(Prepared<T> Prepared, Task<IReadOnlyList<PixelBox>>? Run)>();
            // A failure of the decode side is reported after the runs already started are handed out, so every item
            // before it reaches the caller whatever the number of runs.
            ExceptionDispatchInfo? producerFailure = null;
            try
            {
                var more = true;
                while (more || inFlight.Count > 0)
                {
                    while (more && inFlight.Count < concurrentRuns)
                    {
                        bool readable;
                        try
                        {
                            readable = await ready.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is not OperationCanceledException)
                        {
                            producerFailure = ExceptionDispatchInfo.Capture(ex);
                            readable = false;
                        }

                        if (!readable)
                        {
                            more = false;
                            break;
                        }

                        if (ready.Reader.TryRead(out var prepared))
                        {
                            var input = prepared.Input;
                            inFlight.Enqueue((prepared, input is null ? null : StartRun(detector, input, concurrentRuns)));
                        }
                    }

                    if (inFlight.Count == 0)
                    {
                        producerFailure?.Throw();
                        break;
                    }

                    var (head, run) = inFlight.Peek();
                    IReadOnlyList<PixelBox> boxes = run is null ? [] : await run.ConfigureAwait(false);
                    inFlight.Dequeue();
                    if (head.Input is { } done)
                    {
                        free.Writer.TryWrite(done);
                    }

                    try
                    {
                        yield return new PipelinedResult<T>(head.Item, head.Image, boxes, head.Rejection);
                    }
                    finally
                    {
                        head.Image?.Dispose();
                    }
                }
            }
            finally
            {
                // Stopped early or failed: let runs already started end before their inputs are disposed.
                while (inFlight.Count > 0)
                {
                    var (left, run) = inFlight.Dequeue();
                    if (run is not null)
                    {
                        try
                        {
                            await run.ConfigureAwait(false);
                        }
                        catch (Exception)
                        {
                            // The enumeration is already ending for another reason; that one is reported.
                        }
                    }

                    left.Image?.Dispose();
                }
            }

            await producer.ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Expected when the consumer stopped early.
            }
            catch (Exception) when (!producer.IsCompletedSuccessfully)
            {
                // Already surfaced through the channel (or irrelevant because the consumer stopped first).
            }

            while (ready.Reader.TryRead(out var leftover))
            {
                leftover.Image?.Dispose();
            }

            foreach (var input in inputs)
            {
                input.Dispose();
            }
        }
    }

    // Several runs go to the pool, each into its input's own outputs; a single run happens here and now, its failure
    // kept in the task so that the caller's image is disposed like any other run's.
    private static Task<IReadOnlyList<PixelBox>> StartRun(OnnxDetector detector, DetectorInput input, int concurrentRuns)
    {
        if (concurrentRuns > 1)
        {
            return Task.Run(() => detector.RunOverlapping(input), CancellationToken.None);
        }

        try
        {
            return Task.FromResult(detector.Run(input));
        }
        catch (Exception ex)
        {
            return Task.FromException<IReadOnlyList<PixelBox>>(ex);
        }
    }

    private static void Produce<T>(OnnxDetector detector, IEnumerable<T> items, Func<T, DecodedImage?> decode,
        ChannelReader<DetectorInput> free, ChannelWriter<Prepared<T>> ready, CancellationToken token)
    {
        try
        {
            foreach (var item in items)
            {
                token.ThrowIfCancellationRequested();
                DecodedImage? image = null;
                ImageRejectedException? rejection = null;
                DetectorInput? input = null;
                try
                {
                    image = decode(item);
                    if (image is not null)
                    {
                        while (!free.TryRead(out input))
                        {
                            free.WaitToReadAsync(token).AsTask().GetAwaiter().GetResult();
                        }

                        detector.Prepare(image, input);
                    }
                }
                catch (ImageRejectedException ex)
                {
                    rejection = ex;
                }
                catch
                {
                    image?.Dispose();
                    throw;
                }

                var prepared = new Prepared<T>(item, image, input, rejection);
                try
                {
                    while (!ready.TryWrite(prepared))
                    {
                        if (!ready.WaitToWriteAsync(token).AsTask().GetAwaiter().GetResult())
                        {
                            throw new OperationCanceledException(token);
                        }
                    }
                }
                catch
                {
                    image?.Dispose();
                    throw;
                }
            }

            ready.TryComplete();
        }
        catch (Exception ex)
        {
            ready.TryComplete(ex);
            throw;
        }
    }

    private sealed record Prepared<T>(T Item, DecodedImage? Image, DetectorInput? Input, ImageRejectedException? Rejection);
}
