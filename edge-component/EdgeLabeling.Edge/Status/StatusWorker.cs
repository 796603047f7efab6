using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLabeling.Edge.Status;

/// <summary>One lane of the queue in the status file.</summary>
public sealed record LaneReport(int Items, long Bytes);

/// <summary>The local status file (JSON, rewritten atomically), for operators and the fleet's health checks.</summary>
public sealed record StatusReport
{
    public required DateTimeOffset TimeUtc { get; init; }
    public required string ThingName { get; init; }
    public required string State { get; init; }
    public required Dictionary<string, LaneReport> Queue { get; init; }
    public required int QueuedItems { get; init; }
    public required long BytesQueued { get; init; }
    public required long DiskQuotaBytes { get; init; }
    public required long BytesUploaded { get; init; }
    public required long ObjectsUploaded { get; init; }
    public required long UploadsSkippedAlreadyPresent { get; init; }
    public required long BytesUploadedToday { get; init; }
    public required bool Online { get; init; }
    public string? LastUploadError { get; init; }
    public string? LastUploadErrorKind { get; init; }
    public DateTimeOffset? LastUploadErrorUtc { get; init; }
    public DateTimeOffset? LastUploadUtc { get; init; }
    public double BackoffSeconds { get; init; }
    public required Dictionary<string, long> Outcomes { get; init; }
    public required long Drops { get; init; }
    public required string EvictionPolicy { get; init; }
    public required bool Backpressure { get; init; }
    public string? BackpressureReason { get; init; }
    public required bool DailyQuotaReached { get; init; }
    public required bool LowPriorityWindowOpen { get; init; }
    public required long LostOnRecovery { get; init; }

    /// <summary>Queued items lost because their image file vanished from the queue folder while waiting.</summary>
    public required long LostMissingBlob { get; init; }

    /// <summary>Queued items the store refused for reasons of their own; they wait and retry while others go ahead.</summary>
    public required int DeferredItems { get; init; }

    public string? LastDeferralError { get; init; }

    /// <summary>Quarantined frames deleted by this process to keep the quarantine folder under QuarantineMaxBytes.</summary>
    public long QuarantinePruned { get; init; }

    /// <summary>Frames in the input folder this user may not read (wrong mode or group); they wait there.</summary>
    public int UnreadableFrames { get; init; }

    /// <summary>Frames already handled that this user may not remove from the input folder; skipped, not redone.</summary>
    public int UndeletableFrames { get; init; }

    public string? LastIntakeError { get; init; }

    /// <summary>Seconds the oldest queued item has waited; null when the queue is empty.</summary>
    public double? OldestQueuedAgeSeconds { get; init; }

    /// <summary>Free bytes on the work directory's file system; null when it cannot be read.</summary>
    public long? FreeDiskBytes { get; init; }

    /// <summary>Daily upload quota in bytes (0 = none).</summary>
    public long DailyQuotaBytes { get; init; }

    /// <summary>Upload failures since start, by kind.</summary>
    public Dictionary<string, long>? ErrorsByKind { get; init; }

    public string? ModelSha256 { get; init; }
    public string? RoutingVersion { get; init; }
    public string? ComponentVersion { get; init; }

    /// <summary>Bytes of fleet heartbeats sent (also counted in the daily upload total).</summary>
    public long HeartbeatBytes { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StatusReport))]
public sealed partial class StatusJsonContext : JsonSerializerContext;

/// <summary>Builds and writes <see cref="StatusReport"/>s.</summary>
public sealed class StatusWriter(Outbox outbox, EdgeState state, IOptions<EdgeOptions> options, TimeProvider time, Fleet.DeviceIdentity identity)
{
    private readonly EdgeOptions _o = options.Value;

    public StatusReport Build()
    {
        var now = time.GetUtcNow();
        var stats = outbox.GetStats();
        var outcomes = Enum.GetValues<RoutingOutcome>().ToDictionary(o => o.ToWire(), o => stats.Counter(Outbox.Counters.Outcome(o)));
        return new StatusReport
        {
            TimeUtc = now,
            ThingName = _o.ThingName,
            State = state.Stopping ? "stopped" : "running",
            Queue = new Dictionary<string, LaneReport>
            {
                ["review"] = Lane(stats, QueuePriority.Review),
                ["auto-label-records"] = Lane(stats, QueuePriority.AutoLabelRecord),
                ["auto-labeled-images"] = Lane(stats, QueuePriority.AutoLabeledImage),
            },
            QueuedItems = stats.Lanes.Values.Sum(l => l.Items),
            BytesQueued = stats.UsedBytes,
            DiskQuotaBytes = stats.QuotaBytes,
            BytesUploaded = stats.Counter(Outbox.Counters.UploadedBytes),
            ObjectsUploaded = stats.Counter(Outbox.Counters.UploadedObjects),
            UploadsSkippedAlreadyPresent = stats.Counter(Outbox.Counters.SkippedExisting),
            BytesUploadedToday = stats.Counter(Outbox.Counters.UploadedOn(DateOnly.FromDateTime(now.UtcDateTime))),
            Online = state.Online,
            LastUploadError = state.LastUploadError,
            LastUploadErrorKind = state.LastUploadErrorKind,
            LastUploadErrorUtc = state.LastUploadErrorUtc,
            LastUploadUtc = state.LastUploadUtc,
            BackoffSeconds = Math.Round(state.CurrentBackoff.TotalSeconds, 1),
            Outcomes = outcomes,
            Drops = stats.Counter(Outbox.Counters.Drops),
            EvictionPolicy = _o.EvictionPolicy.ToString(),
            Backpressure = state.Backpressure,
            BackpressureReason = state.BackpressureReason,
            DailyQuotaReached = state.DailyQuotaReached,
            LowPriorityWindowOpen = state.LowPriorityWindowOpen,
            LostOnRecovery = stats.Counter(Outbox.Counters.LostOnRecovery),
            LostMissingBlob = stats.Counter(Outbox.Counters.LostMissingBlob),
            DeferredItems = stats.DeferredItems,
            LastDeferralError = stats.LastDeferralError,
            QuarantinePruned = state.QuarantinePruned,
            UnreadableFrames = state.UnreadableFrames,
            UndeletableFrames = state.UndeletableFrames,
            LastIntakeError = state.LastIntakeError,
            OldestQueuedAgeSeconds = outbox.OldestEnqueuedUtc() is { } oldest ? Math.Max(0, Math.Round((now - oldest).TotalSeconds, 1)) : null,
            FreeDiskBytes = FreeDiskBytes(_o.WorkDirectory),
            DailyQuotaBytes = _o.DailyUploadMegabytes * 1024 * 1024,
            ErrorsByKind = state.ErrorsByKind(),
            ModelSha256 = identity.ModelSha256,
            RoutingVersion = identity.RoutingVersion,
            ComponentVersion = identity.ComponentVersion,
            HeartbeatBytes = stats.Counter(Outbox.Counters.HeartbeatBytes),
        };
    }

    private static long? FreeDiskBytes(string directory)
    {
        try
        {
            return new DriveInfo(Path.GetFullPath(directory)).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private static LaneReport Lane(OutboxStats s, QueuePriority p) => new(s.Lanes[p].Items, s.Lanes[p].Bytes);

    /// <summary>Writes the status file atomically so a reader never sees half of it.</summary>
    public async Task WriteAsync(CancellationToken cancellationToken = default)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(Build(), StatusJsonContext.Default.StatusReport);
        await AtomicFile.WriteAsync(_o.ResolvedStatusFile, bytes, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Rewrites the status file every few seconds and once more when stopping.</summary>
public sealed class StatusWorker(StatusWriter writer, EdgeState state, IOptions<EdgeOptions> options, ILogger<StatusWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        RemoveStaleTempFiles();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.StatusIntervalSeconds));
        do
        {
            await TryWriteAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await NextAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private void RemoveStaleTempFiles()
    {
        // A kill during a status write leaves its temp file behind; nothing else writes these names.
        var path = options.Value.ResolvedStatusFile;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(dir))
        {
            return;
        }

        foreach (var stale in Directory.EnumerateFiles(dir, AtomicFile.TempPrefix + Path.GetFileName(path) + "-*"))
        {
            try
            {
                File.Delete(stale);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<bool> NextAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        state.Stopping = true;
        await TryWriteAsync(CancellationToken.None).ConfigureAwait(false);
        var report = writer.Build();
        logger.LogInformation("Stopped; {Queued} items ({Bytes} bytes) stay queued for the next start", report.QueuedItems, report.BytesQueued);
    }

    private async Task TryWriteAsync(CancellationToken ct)
    {
        try
        {
            await writer.WriteAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Could not write the status file: {Error}", ex.Message);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
