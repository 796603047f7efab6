using System.Text;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Edge.Status;
using EdgeLabeling.Routing;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLabeling.Edge.Intake;

/// <summary>
/// Watches the input folder, runs inference and routing on each stable frame and hands the result to the
/// outbox. The input file is deleted (or moved to <see cref="EdgeOptions.ProcessedDirectory"/>) only after
/// the queue has committed it; when the queue is full and the policy keeps everything, frames stay in the
/// folder (backpressure) until uploads make room. A frame in progress when the stop request arrives is
/// finished: inference plus one commit take milliseconds, far inside the shutdown budget.
/// </summary>
public sealed class IntakeWorker(
    IImageLabeler labeler,
    LabelRecords records,
    Outbox outbox,
    EdgeState state,
    QueueSignal signal,
    IOptions<EdgeOptions> options,
    TimeProvider time,
    ILogger<IntakeWorker> logger) : BackgroundService
{
    // Sidecar and label line of one image stay well under this; used for the quota pre-check only.
    private const long RecordAllowanceBytes = 64 * 1024;

    private readonly EdgeOptions _o = options.Value;
    private readonly UploadImageNormalizer _normalizer = new(options.Value.UploadMaxSide, options.Value.UploadJpegQuality);
    private InboxScanner? _scanner;

    // Frames already handled (queued, found duplicate or quarantined) that this user cannot remove from the
    // input folder, with the size and mtime seen then: skipped until they change or disappear, so they are
    // neither processed again every round nor forgotten.
    private readonly Dictionary<string, (long Length, DateTime WriteTimeUtc)> _undeletable = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Leave StartAsync at once; the first scan runs on the thread pool.
        await Task.Yield();
        Directory.CreateDirectory(_o.InputDirectory);
        _scanner = new InboxScanner(_o.InputDirectory, TimeSpan.FromMilliseconds(_o.FileStableMilliseconds), time);
        _scanner.Ignored += path => logger.LogWarning("Ignoring {File}: not a {Formats} frame", path, ObjectKeyLayout.ImageExtensionsText);
        _scanner.Unreadable += (path, error) => logger.LogWarning(
            "Frame {File} cannot be read by this user ({Error}); it stays in the folder and is counted in status.json (unreadableFrames) until its permissions let the component read it",
            path, error);
        logger.LogInformation("Watching {InputDirectory} for frames (stable after {StableMs} ms)", _o.InputDirectory, _o.FileStableMilliseconds);
        var poll = TimeSpan.FromMilliseconds(_o.PollMilliseconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                RunOnce(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                state.IntakeFailed(ex.Message);
                logger.LogError(ex, "Intake round failed: {Error}", ex.Message);
            }

            try
            {
                await Task.Delay(poll, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>
    /// One scan of the folder; returns the number of frames taken. The ready frames go through the labeler's
    /// pipeline (the next frame is read and decoded while the model runs on this one); each decision is then
    /// checked against the disk and the queue and committed in order. A decision that cannot be committed is
    /// abandoned, and the frames read ahead of it stay in the folder untouched for the next round.
    /// </summary>
    internal int RunOnce(CancellationToken stoppingToken)
    {
        var taken = 0;
        var ready = _scanner!.ScanReady();
        PruneUndeletable();
        state.SetStuckFrames(_scanner.UnreadableCount, _undeletable.Count);
        var frames = ready.Where(path => !(_undeletable.TryGetValue(path, out var seen) && Unchanged(path, seen))).Select(path => new InboxFrame(path)).ToList();
        if (frames.Count == 0 || stoppingToken.IsCancellationRequested)
        {
            return 0;
        }

        // Not the stopping token: a frame already decided when the stop request arrives is still committed.
        foreach (var (frame, decision) in labeler.DecideInOrder(frames, ReadFrame, CancellationToken.None))
        {
            if (decision is null)
            {
                // Vanished, locked or shrunk under us: look at it again next round.
                _scanner.Forget(frame.Path);
                logger.LogDebug("Frame {File} not readable yet: {Error}", frame.Path, frame.ReadError);
                continue;
            }

            if (_o.MinFreeDiskBytes > 0 && FreeDiskBytes() < _o.MinFreeDiskBytes + frame.Length + RecordAllowanceBytes)
            {
                labeler.Abandon(decision);
                EnterBackpressure(DiskFullReason);
                break;
            }

            if (_o.EvictionPolicy == EvictionPolicy.Backpressure && !outbox.HasRoomFor(frame.Length + RecordAllowanceBytes))
            {
                labeler.Abandon(decision);
                EnterBackpressure(DiskQuotaReason);
                break;
            }

            if (!Commit(frame.Path, decision))
            {
                break;
            }

            taken++;
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }

        return taken;
    }

    /// <summary>A ready frame of one round: what the read (on a pool thread) found.</summary>
    private sealed class InboxFrame(string path)
    {
        public string Path { get; } = path;

        public long Length { get; set; }

        public string? ReadError { get; set; }
    }

    /// <summary>Reads a whole frame, exclusively (a writer still holding it makes it "not ready"); null when it cannot be read now.</summary>
    private ImageInput? ReadFrame(InboxFrame frame)
    {
        try
        {
            byte[] bytes;
            using (var fs = new FileStream(frame.Path, FileMode.Open, FileAccess.Read, FileShare.None))
            {
                bytes = new byte[fs.Length];
                fs.ReadExactly(bytes);
            }

            frame.Length = bytes.Length;
            return new ImageInput(frame.Path, bytes, _o.Camera, new DateTimeOffset(File.GetLastWriteTimeUtc(frame.Path), TimeSpan.Zero));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            frame.ReadError = ex.Message;
            return null;
        }
    }

    /// <summary>Backpressure reason: the queue reached <see cref="EdgeOptions.DiskQuotaBytes"/>.</summary>
    public const string DiskQuotaReason = "disk-quota";

    /// <summary>Backpressure reason: the file system is (nearly) full, whoever filled it.</summary>
    public const string DiskFullReason = "disk-full";

    private long FreeDiskBytes()
    {
        try
        {
            return new DriveInfo(_o.WorkDirectory).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Unknown free space must not stop the intake; a write that really fails is handled where it happens.
            return long.MaxValue;
        }
    }

    private void EnterBackpressure(string reason)
    {
        if (!state.Backpressure || state.BackpressureReason != reason)
        {
            if (reason == DiskFullReason)
            {
                logger.LogWarning(
                    "Disk nearly full ({FreeBytes} bytes free, {MinFreeBytes} kept free): intake paused, frames stay in {InputDirectory} until space is freed",
                    FreeDiskBytes(), _o.MinFreeDiskBytes, _o.InputDirectory);
            }
            else
            {
                logger.LogWarning(
                    "Disk quota of {QuotaBytes} bytes reached ({UsedBytes} used): intake paused, frames stay in {InputDirectory} until uploads make room",
                    _o.DiskQuotaBytes, outbox.UsedBytes, _o.InputDirectory);
            }
        }

        state.SetBackpressure(true, reason);
    }

    /// <summary>Queues (or quarantines, or drops as a duplicate) one decided frame; false when the queue refused it and the round should stop.</summary>
    private bool Commit(string path, ImageDecision decided)
    {
        // One frame everywhere: what is uploaded has its orientation in the pixels (see UploadImageNormalizer).
        // The labeler knows the frame by its stored bytes (decided), the queue by the upright ones (decision).
        var (decision, uploadBytes) = _normalizer.Apply(decided, decided.Input.Bytes);
        switch (decision.Outcome)
        {
            case RoutingOutcome.Quarantine:
                outbox.CountOutcome(decision.Outcome);
                Quarantine(path, decision);
                return true;
            case RoutingOutcome.Duplicate:
                outbox.CountOutcome(decision.Outcome);
                FinishInput(path);
                logger.LogInformation("Frame {File} is a duplicate ({Reason}); not queued", Path.GetFileName(path), decision.Reason);
                return true;
        }

        var entries = BuildEntries(decision, uploadBytes);
        EnqueueResult result;
        try
        {
            result = outbox.Enqueue(entries, decision.Outcome, time.GetUtcNow());
        }
        catch (Exception ex) when (Outbox.IsDiskFull(ex))
        {
            // Nothing was acknowledged (the blob write or the commit failed and was rolled back): the frame
            // stays in the input folder and is taken again when there is room, as a new frame.
            labeler.Abandon(decided);
            EnterBackpressure(DiskFullReason);
            return false;
        }

        if (result.Status == EnqueueStatus.Backpressure)
        {
            labeler.Abandon(decided);
            EnterBackpressure(DiskQuotaReason);
            return false;
        }

        if (state.Backpressure)
        {
            logger.LogInformation("Queue has room again; intake resumed");
        }

        state.SetBackpressure(false);
        state.FrameAccepted(result.Evicted);
        if (result.Evicted > 0)
        {
            logger.LogWarning("Disk quota reached: evicted {Evicted} low-priority items (policy {Policy})", result.Evicted, _o.EvictionPolicy);
        }

        FinishInput(path);
        signal.Notify();
        logger.LogInformation(
            "Frame {File} -> {Outcome} ({Reason}), {Boxes} boxes, key {Key}",
            Path.GetFileName(path), decision.Outcome.ToWire(), decision.Reason, decision.Boxes.Count, records.ImageKey(decision));
        return true;
    }

    /// <summary>The outbox entries one decision produces.</summary>
    public static IReadOnlyList<OutboxEntry> BuildEntries(ImageDecision decision, LabelRecords records, bool uploadAutoLabeledImages, DateTimeOffset now, ReadOnlyMemory<byte> bytes)
    {
        // Link bytes are precious: 0.01 px and 4-digit confidences say all a labeler or the merge can use,
        // and keep float noise (0.30000004172325134) out of every sidecar.
        decision = decision with
        {
            Boxes = decision.Boxes.Select(b => b with
            {
                Left = Math.Round(b.Left, 2),
                Top = Math.Round(b.Top, 2),
                Width = Math.Round(b.Width, 2),
                Height = Math.Round(b.Height, 2),
                Confidence = Math.Round(b.Confidence, 4),
            }).ToList(),
        };
        var key = records.ImageKey(decision);
        var contentType = decision.Extension == "png" ? "image/png" : "image/jpeg";
        var entries = new List<OutboxEntry>(2);
        if (decision.Outcome.NeedsPeople())
        {
            // Queued already compressed: the upload sends exactly these bytes (gzip, Content-Encoding: gzip), so
            // a resumed upload's size+SHA-256 check compares like with like, and the queue holds less too.
            entries.Add(new OutboxEntry(QueuePriority.Review, key, decision.Sha256, contentType, bytes, ObjectContent.Compress(records.ReviewRecord(decision).ToUtf8Json())));
        }

        if (decision.Outcome is RoutingOutcome.AutoLabel or RoutingOutcome.Audit)
        {
            var line = Encoding.UTF8.GetBytes(records.AutoLabelLine(decision, now).ToJsonString());
            entries.Add(new OutboxEntry(QueuePriority.AutoLabelRecord, key, decision.Sha256, "application/json", ReadOnlyMemory<byte>.Empty, line));
        }

        if (decision.Outcome == RoutingOutcome.AutoLabel && uploadAutoLabeledImages)
        {
            entries.Add(new OutboxEntry(QueuePriority.AutoLabeledImage, key, decision.Sha256, contentType, bytes, ReadOnlyMemory<byte>.Empty));
        }

        return entries;
    }

    private IReadOnlyList<OutboxEntry> BuildEntries(ImageDecision decision, ReadOnlyMemory<byte> bytes) =>
        BuildEntries(decision, records, _o.UploadAutoLabeledImages, time.GetUtcNow(), bytes);

    private void FinishInput(string path)
    {
        try
        {
            if (string.IsNullOrEmpty(_o.ProcessedDirectory))
            {
                File.Delete(path);
            }
            else
            {
                Directory.CreateDirectory(_o.ProcessedDirectory);
                File.Move(path, Path.Combine(_o.ProcessedDirectory, Path.GetFileName(path)), overwrite: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Already queued: skip the file from now on instead of deciding it again every round.
            KeepUndeletable(path, "remove accepted", ex);
        }

        _scanner!.Forget(path);
    }

    private void KeepUndeletable(string path, string action, Exception ex)
    {
        try
        {
            var fi = new FileInfo(path);
            if (!fi.Exists)
            {
                return;
            }

            if (_undeletable.TryAdd(path, (fi.Length, fi.LastWriteTimeUtc)))
            {
                logger.LogWarning(
                    "Could not {Action} frame {File}: {Error}. It is done and skipped from now on; it stays in the folder and is counted in status.json (undeletableFrames) until it is removed",
                    action, path, ex.Message);
            }
        }
        catch (IOException)
        {
        }

        state.SetStuckFrames(_scanner!.UnreadableCount, _undeletable.Count);
    }

    private void PruneUndeletable()
    {
        foreach (var (path, seen) in _undeletable.ToList())
        {
            if (!Unchanged(path, seen))
            {
                _undeletable.Remove(path);
            }
        }
    }

    private static bool Unchanged(string path, (long Length, DateTime WriteTimeUtc) seen)
    {
        var fi = new FileInfo(path);
        return fi.Exists && fi.Length == seen.Length && fi.LastWriteTimeUtc == seen.WriteTimeUtc;
    }

    private void Quarantine(string path, ImageDecision decision)
    {
        state.FrameQuarantined();
        var dir = Path.Combine(_o.WorkDirectory, "quarantine");
        Directory.CreateDirectory(dir);
        var name = Path.GetFileName(path);
        try
        {
            var target = Path.Combine(dir, name);
            File.Move(path, target, overwrite: true);
            // Quarantine order, not capture order, decides which frames the cap deletes first.
            File.SetLastWriteTimeUtc(target, DateTime.UtcNow);
            File.WriteAllText(target + QuarantineFolder.ReasonSuffix, decision.Reason + (decision.Detail is null ? "" : ": " + decision.Detail) + "\n");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            KeepUndeletable(path, "move quarantined", ex);
        }

        _scanner!.Forget(path);
        logger.LogWarning("Frame {File} quarantined: {Reason}", name, decision.Reason);
        if (_o.QuarantineMaxBytes > 0)
        {
            var pruned = QuarantineFolder.Prune(dir, _o.QuarantineMaxBytes);
            if (pruned.Count > 0)
            {
                state.QuarantinePrunedFrames(pruned.Count);
                logger.LogWarning("Quarantine folder above {MaxBytes} bytes: deleted the {Count} oldest quarantined frames ({First} ...)", _o.QuarantineMaxBytes, pruned.Count, pruned[0]);
            }
        }
    }
}
