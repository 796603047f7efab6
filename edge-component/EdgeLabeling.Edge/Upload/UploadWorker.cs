using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Edge.Status;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace EdgeLabeling.Edge.Upload;

/// <summary>
/// Drains the outbox: review/audit images then their sidecars, then batches of auto-label records, then
/// (when configured and inside the window) auto-labeled images. Each item gets a few quick retries with
/// exponential back-off and jitter (Polly); when those fail the link is treated as down and the worker
/// sleeps with a growing delay (up to <see cref="EdgeOptions.RetryMaxBackoffSeconds"/>) before probing with
/// the next item again — no busy loop, and it resumes by itself. Stopping cancels the current upload; the
/// row stays queued and the retry writes the same key with the same bytes.
/// Failures that concern one item only (the store refuses that key, rejects its bytes) set that item aside
/// with its own growing delay, so the items queued behind it keep moving; link-wide failures (network,
/// credentials, server errors) keep the order and only pause the worker.
/// </summary>
public sealed class UploadWorker(
    Outbox outbox,
    ObjectUploader uploader,
    IObjectStoreProvider stores,
    EdgeState state,
    QueueSignal signal,
    IOptions<EdgeOptions> options,
    TimeProvider time,
    ILogger<UploadWorker> logger) : BackgroundService
{
    private readonly EdgeOptions _o = options.Value;
    private readonly ResiliencePipeline _retry = BuildRetry(options.Value);

    // Items queued before this process started, or whose upload failed here, may already be (partly) in the
    // store: those get a HEAD first. Fresh items go straight to PUT.
    private readonly DateTimeOffset _started = time.GetUtcNow();
    private readonly HashSet<string> _attempted = new(StringComparer.Ordinal);

    /// <summary>First delay of an item set aside after a failure of its own; doubles per failure up to <see cref="ItemDeferralMax"/>.</summary>
    public static readonly TimeSpan ItemDeferralBase = TimeSpan.FromSeconds(30);

    /// <summary>Longest an item waits between attempts after failures of its own (a restart retries at once).</summary>
    public static readonly TimeSpan ItemDeferralMax = TimeSpan.FromHours(1);

    private static ResiliencePipeline BuildRetry(EdgeOptions o)
    {
        var builder = new ResiliencePipelineBuilder();
        if (o.RetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = o.RetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(300),
                MaxDelay = TimeSpan.FromSeconds(5),
                // Anything but our own stop is worth retrying: timeouts surface as OperationCanceledException too.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not null && !args.Context.CancellationToken.IsCancellationRequested),
            });
        }

        return builder.Build();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        var window = _o.ResolvedLowPriorityWindow;
        var dailyQuota = _o.DailyUploadMegabytes * 1024 * 1024;
        var idle = TimeSpan.FromSeconds(Math.Clamp(_o.AutoLabelBatchMaxWaitSeconds, 1, 5));
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            if (dailyQuota > 0 && outbox.UploadedOn(now) >= dailyQuota)
            {
                if (!state.DailyQuotaReached)
                {
                    logger.LogWarning("Daily upload quota of {QuotaMb} MB reached; uploads resume after UTC midnight", _o.DailyUploadMegabytes);
                }

                state.SetDailyQuotaReached(true);
                await DelayAsync(UntilNextUtcDay(now, TimeSpan.FromMinutes(1)), stoppingToken).ConfigureAwait(false);
                continue;
            }

            state.SetDailyQuotaReached(false);
            var windowOpen = window is null || window.Value.Contains(TimeOnly.FromDateTime(time.GetLocalNow().DateTime));
            state.SetLowPriorityWindowOpen(windowOpen);

            object? work;
            try
            {
                work = outbox.Peek(QueuePriority.Review, now)
                    ?? (object?)outbox.ClaimLabelBatch(_o.ThingName, _o.AutoLabelBatchSize, TimeSpan.FromSeconds(_o.AutoLabelBatchMaxWaitSeconds), now)
                    ?? (_o.UploadAutoLabeledImages && windowOpen ? outbox.Peek(QueuePriority.AutoLabeledImage, now) : null);
            }
            catch (Exception ex) when (Outbox.IsDiskFull(ex))
            {
                // Freezing a label batch writes to the queue; with the disk full that waits (review items still go).
                logger.LogWarning("Could not prepare the next upload: the disk is full ({Error}); retrying in 5 s", ex.Message);
                await DelayAsync(TimeSpan.FromSeconds(5), stoppingToken).ConfigureAwait(false);
                continue;
            }

            if (work is null)
            {
                try
                {
                    await signal.WaitAsync(idle, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                continue;
            }

            try
            {
                await _retry.ExecuteAsync(async ct => await UploadAsync(work, ct).ConfigureAwait(false), stoppingToken).ConfigureAwait(false);
                if (failures > 0)
                {
                    logger.LogInformation("Upload link is back after {Failures} failed rounds", failures);
                }

                failures = 0;
                state.UploadSucceeded(time.GetUtcNow());
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                logger.LogInformation("Stopping: the upload in progress was abandoned and stays queued");
                break;
            }
            catch (Exception ex)
            {
                failures++;
                var kind = Classify(ex);
                if (work is OutboxItem failed && ConcernsItemOnly(kind))
                {
                    try
                    {
                        SetAside(failed, kind, ex);
                    }
                    catch (Exception setAside) when (Outbox.IsDiskFull(setAside))
                    {
                        // Even the reserve is gone: the item stays as it is and is tried again after the back-off.
                        logger.LogWarning("Could not set {Key} aside: the disk is full ({Error})", failed.ObjectKey, setAside.Message);
                    }
                }

                var backoff = Backoff(failures);
                var stats = outbox.GetStats();
                var queued = stats.Lanes.Values.Sum(l => l.Items);
                state.UploadFailed(kind, Describe(ex), time.GetUtcNow(), backoff);
                logger.LogWarning(
                    "Upload failed ({Kind}): {Error} [{ExceptionType}]. {Queued} items stay queued; next attempt in {BackoffSeconds:F1} s",
                    kind, Describe(ex), ex.GetType().Name, queued, backoff.TotalSeconds);
                // A fresh client re-reads credentials (the token exchange service may be back, or have new keys).
                stores.Reset();
                await DelayAsync(backoff, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// True for failure kinds that say something about the item rather than the link: retrying other items is
    /// worthwhile. "other" counts here too: an unknown error must not be able to stall the whole lane.
    /// </summary>
    public static bool ConcernsItemOnly(string kind) => kind is "access-denied" or "rejected" or "blob-missing" or "other";

    private void SetAside(OutboxItem item, string kind, Exception ex)
    {
        if (kind == "blob-missing")
        {
            // The bytes are gone from the device: no retry can bring them back. Say so loudly and count it.
            outbox.RemoveWithMissingBlob(item);
            logger.LogError("Queued image {Key} lost: its file {Blob} is missing from the queue folder; removed from the queue", item.ObjectKey, item.BlobPath);
            return;
        }

        var delay = ItemDeferral(item.Attempts);
        outbox.Defer(item, $"{kind}: {Describe(ex)}", time.GetUtcNow() + delay);
        logger.LogWarning(
            "Upload of {Key} refused ({Kind}): {Error}. The item stays queued and is retried in {DelayMinutes:F1} min; the items behind it go first",
            item.ObjectKey, kind, Describe(ex), delay.TotalMinutes);
    }

    /// <summary>Delay before an item's next attempt after <paramref name="earlierFailures"/> failures of its own (0 = first).</summary>
    public static TimeSpan ItemDeferral(int earlierFailures)
    {
        var seconds = ItemDeferralBase.TotalSeconds * Math.Pow(2, Math.Clamp(earlierFailures, 0, 16));
        return TimeSpan.FromSeconds(Math.Min(seconds, ItemDeferralMax.TotalSeconds));
    }

    private async Task UploadAsync(object work, CancellationToken ct)
    {
        switch (work)
        {
            case OutboxItem { Priority: QueuePriority.Review } item:
                await UploadReviewAsync(item, ct).ConfigureAwait(false);
                break;
            case OutboxItem item:
                var sent = await PutBlobAsync(item, ct).ConfigureAwait(false);
                outbox.Complete(item, sent, time.GetUtcNow());
                break;
            case LabelBatch batch:
                var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(batch.Content));
                // A batch this process did not freeze itself was claimed before a restart and may be uploaded already.
                var mayExist = !batch.Fresh || !_attempted.Add(batch.ObjectKey);
                var n = await uploader.PutOnceAsync(batch.ObjectKey, () => new MemoryStream(batch.Content, writable: false), batch.Content.Length, sha, "application/x-ndjson", ct, mayExist, EncodingOf(batch.Content)).ConfigureAwait(false);
                CountSkip(n);
                outbox.CompleteBatch(batch, n, time.GetUtcNow());
                logger.LogInformation("Uploaded {Records} auto-label records to {Key}", batch.Records, batch.ObjectKey);
                break;
        }
    }

    private async Task UploadReviewAsync(OutboxItem item, CancellationToken ct)
    {
        // Image first, sidecar second: the cloud ingest registers the pair when both exist, and a sidecar
        // never points at an image that is not there yet.
        if (!item.ImageDone)
        {
            var sent = await PutBlobAsync(item, ct).ConfigureAwait(false);
            outbox.MarkImageDone(item.Id, sent, time.GetUtcNow());
        }

        var sidecarSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(item.Payload));
        var sidecarKey = ObjectKeyLayout.SidecarKey(item.ObjectKey);
        var n = await uploader.PutOnceAsync(sidecarKey, () => new MemoryStream(item.Payload, writable: false), item.Payload.Length, sidecarSha, "application/json", ct, MayExist(sidecarKey, item), EncodingOf(item.Payload)).ConfigureAwait(false);
        CountSkip(n);
        outbox.Complete(item, n, time.GetUtcNow());
        logger.LogInformation("Uploaded review image {Key} and its sidecar", item.ObjectKey);
    }

    private async Task<long> PutBlobAsync(OutboxItem item, CancellationToken ct)
    {
        var path = item.BlobPath ?? throw new InvalidOperationException($"queued image {item.ObjectKey} has no blob");
        var length = new FileInfo(path).Length;
        var n = await uploader.PutOnceAsync(
            item.ObjectKey,
            () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true),
            length,
            item.Sha256,
            item.ContentType,
            ct,
            MayExist(item.ObjectKey, item)).ConfigureAwait(false);
        CountSkip(n);
        return n;
    }

    // Rows queued by an older version hold plain JSON; they still upload, just without the encoding header.
    private static string? EncodingOf(byte[] payload) => ObjectContent.IsGzip(payload) ? ObjectContent.Gzip : null;

    private bool MayExist(string key, OutboxItem item) => item.EnqueuedUtc < _started || !_attempted.Add(key);

    private void CountSkip(long sent)
    {
        if (sent == 0)
        {
            outbox.CountSkippedExisting();
        }
    }

    private TimeSpan Backoff(int failures)
    {
        // 1, 2, 4, ... s up to the cap, with ±20 % jitter so a fleet coming back online does not probe in step.
        var max = TimeSpan.FromSeconds(_o.RetryMaxBackoffSeconds);
        var baseSeconds = Math.Min(max.TotalSeconds, Math.Pow(2, Math.Min(failures - 1, 16)));
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return TimeSpan.FromSeconds(Math.Min(max.TotalSeconds, baseSeconds * jitter));
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, time, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static TimeSpan UntilNextUtcDay(DateTimeOffset now, TimeSpan max)
    {
        var next = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        var until = next - now;
        return until < max ? until : max;
    }

    /// <summary>A short category for logs and the status file.</summary>
    public static string Classify(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            // The SDK reports a failed credential fetch (token exchange service down or refusing) with varying
            // exception types but always this wording.
            if (e.Message.Contains("retrieve credentials", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("Failed to resolve AWS credentials", StringComparison.OrdinalIgnoreCase))
            {
                return "credentials-unavailable";
            }

            switch (e)
            {
                case AmazonServiceException { StatusCode: HttpStatusCode.Forbidden, ErrorCode: "RequestTimeTooSkewed" }:
                    // The device clock is off by more than 15 minutes: every request fails the same way.
                    return "clock-skew";
                case AmazonServiceException { StatusCode: HttpStatusCode.Forbidden } ase:
                    return ase.ErrorCode switch
                    {
                        "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "ExpiredToken" or "InvalidToken" => "bad-credentials",
                        // Only an answer with a body names the refusal; that one is about this request's key.
                        "AccessDenied" => "access-denied",
                        // A 403 without a body (a HEAD's 403 never gets here: the uploader goes on to the PUT, whose
                        // answer names the refusal): S3 cannot say what is wrong, so the queue order is kept.
                        _ => "forbidden",
                    };
                case AmazonServiceException { StatusCode: HttpStatusCode.NotFound }:
                    return "bucket-missing";
                case AmazonServiceException ase when (int)ase.StatusCode >= 500 || ase.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout:
                    return "server-error";
                case AmazonServiceException ase when (int)ase.StatusCode >= 400:
                    // 400-class answers about this request (bad digest, entity too large, invalid argument).
                    return "rejected";
                case FileNotFoundException or DirectoryNotFoundException:
                    return "blob-missing";
                case Exception when Outbox.IsDiskFull(e):
                    // The device, not the link or the item: back off and let uploads free space.
                    return "disk-full";
                case HttpRequestException or SocketException or IOException:
                    return "network";
                case OperationCanceledException or TimeoutException:
                    return "timeout";
            }
        }

        return "other";
    }

    private static string Describe(Exception ex)
    {
        if (ex is AmazonServiceException { StatusCode: HttpStatusCode.Forbidden } forbidden)
        {
            // A HEAD answer has no body, so S3 cannot say whether the key or the permission is wrong.
            return $"S3 refused the request (403 {forbidden.ErrorCode}): the credentials are invalid or lack s3:PutObject/s3:GetObject on this bucket and prefix";
        }

        var msg = ex.Message;
        if (ex.InnerException is not null && !msg.Contains(ex.InnerException.Message, StringComparison.Ordinal))
        {
            msg += " -> " + ex.InnerException.Message;
        }

        return msg.Length > 400 ? msg[..400] : msg;
    }
}
