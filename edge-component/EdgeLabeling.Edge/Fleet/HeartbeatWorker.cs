using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Edge.Status;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLabeling.Edge.Fleet;

/// <summary>
/// Sends the fleet heartbeat. It runs beside the upload worker and never waits for it (nor it for this):
/// a heartbeat is one small PUT with a short timeout of its own, written to one fixed key per device, so a
/// device coming back online sends its current state and no backlog. Its bytes are counted in the daily
/// upload total the quota checks.
/// </summary>
public sealed class HeartbeatWorker(
    StatusWriter status,
    Outbox outbox,
    IObjectStoreProvider stores,
    IOptions<EdgeOptions> options,
    TimeProvider time,
    ILogger<HeartbeatWorker> logger) : BackgroundService
{
    /// <summary>A heartbeat that cannot be sent within this gives up until its next turn.</summary>
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(10);

    private readonly EdgeOptions _o = options.Value;
    private readonly HeartbeatSchedule _schedule = new(TimeSpan.FromSeconds(options.Value.HeartbeatIntervalSeconds), TimeSpan.FromSeconds(options.Value.HeartbeatMinIntervalSeconds));

    public HeartbeatSchedule Schedule => _schedule;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_o.HeartbeatIntervalSeconds == 0)
        {
            return;
        }

        await Task.Yield();
        // Checked often enough to notice a state change within a few seconds; sending is up to the schedule.
        var tick = TimeSpan.FromSeconds(Math.Clamp(_o.HeartbeatMinIntervalSeconds, 1, 5));
        while (!stoppingToken.IsCancellationRequested)
        {
            await TrySendAsync(stoppingToken).ConfigureAwait(false);
            try
            {
                await Task.Delay(tick, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Sends a heartbeat when one is due; true when one was sent.</summary>
    public async Task<bool> TrySendAsync(CancellationToken cancellationToken)
    {
        var report = status.Build();
        var state = HeartbeatBuilder.StateOf(report);
        var now = time.GetUtcNow();
        var reason = _schedule.Due(now, state);
        return reason is not null && await SendAsync(report, state, reason, now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends one heartbeat now, whatever the schedule says (a host that drains and stops, like the local pipeline).</summary>
    public Task<bool> SendNowAsync(CancellationToken cancellationToken)
    {
        var report = status.Build();
        return SendAsync(report, HeartbeatBuilder.StateOf(report), HeartbeatSendReasons.Requested, time.GetUtcNow(), cancellationToken);
    }

    private async Task<bool> SendAsync(StatusReport report, string state, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var body = HeartbeatBuilder.Encode(HeartbeatBuilder.From(report, reason));
        var key = FleetKeys.HeartbeatKey(_o.ThingName);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(SendTimeout);
        try
        {
            var meta = new Dictionary<string, string>(StringComparer.Ordinal) { [ObjectContent.ContentEncodingKey] = ObjectContent.Gzip };
            await using var stream = new MemoryStream(body, writable: false);
            await stores.Current.PutAsync(_o.Bucket, key, stream, "application/json", meta, timeout.Token).ConfigureAwait(false);
            outbox.CountDirectUpload(body.Length, now);
            _schedule.Succeeded(now, state);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex)
        {
            // Only the latest state matters: nothing is queued, the next turn sends what is true then.
            _schedule.Failed(now, state);
            logger.LogDebug("Heartbeat not sent ({Kind}): {Error}", UploadWorker.Classify(ex), ex.Message);
            return false;
        }
    }
}
