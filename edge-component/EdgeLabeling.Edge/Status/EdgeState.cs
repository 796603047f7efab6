namespace EdgeLabeling.Edge.Status;

/// <summary>
/// Live, in-memory state shared by the workers and reported in the status file. Persistent numbers
/// (queue depth, bytes uploaded, outcome counts, drops) live in the outbox; this holds what is about now.
/// </summary>
public sealed class EdgeState
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _errorsByKind = new(StringComparer.Ordinal);

    public bool Online { get; private set; } = true;
    public string? LastUploadError { get; private set; }
    public string? LastUploadErrorKind { get; private set; }
    public DateTimeOffset? LastUploadErrorUtc { get; private set; }
    public DateTimeOffset? LastUploadUtc { get; private set; }
    public bool Backpressure { get; private set; }
    public string? BackpressureReason { get; private set; }
    public bool DailyQuotaReached { get; private set; }
    public bool LowPriorityWindowOpen { get; private set; } = true;
    public TimeSpan CurrentBackoff { get; private set; }
    public long FramesAccepted { get; private set; }
    public long FramesQuarantined { get; private set; }
    public long QuarantinePruned { get; private set; }
    public long Evicted { get; private set; }
    public string? LastIntakeError { get; private set; }
    public int UnreadableFrames { get; private set; }
    public int UndeletableFrames { get; private set; }
    public bool Stopping { get; set; }

    public void UploadSucceeded(DateTimeOffset now)
    {
        lock (_gate)
        {
            Online = true;
            LastUploadUtc = now;
            CurrentBackoff = TimeSpan.Zero;
        }
    }

    public void UploadFailed(string kind, string message, DateTimeOffset now, TimeSpan backoff)
    {
        lock (_gate)
        {
            Online = false;
            LastUploadErrorKind = kind;
            LastUploadError = message;
            LastUploadErrorUtc = now;
            CurrentBackoff = backoff;
            _errorsByKind[kind] = _errorsByKind.GetValueOrDefault(kind) + 1;
        }
    }

    /// <summary>Upload failures since start, by kind (for the status file and the fleet heartbeat).</summary>
    public Dictionary<string, long> ErrorsByKind()
    {
        lock (_gate)
        {
            return new Dictionary<string, long>(_errorsByKind, StringComparer.Ordinal);
        }
    }

    public void SetBackpressure(bool on, string? reason = null)
    {
        lock (_gate)
        {
            Backpressure = on;
            BackpressureReason = on ? reason : null;
        }
    }

    public void SetDailyQuotaReached(bool reached) => DailyQuotaReached = reached;

    public void SetLowPriorityWindowOpen(bool open) => LowPriorityWindowOpen = open;

    public void FrameAccepted(int evicted)
    {
        lock (_gate)
        {
            FramesAccepted++;
            Evicted += evicted;
        }
    }

    public void FrameQuarantined()
    {
        lock (_gate)
        {
            FramesQuarantined++;
        }
    }

    public void QuarantinePrunedFrames(int count)
    {
        lock (_gate)
        {
            QuarantinePruned += count;
        }
    }

    public void IntakeFailed(string message) => LastIntakeError = message;

    /// <summary>Frames in the input folder the component may not read, and handled ones it may not remove.</summary>
    public void SetStuckFrames(int unreadable, int undeletable)
    {
        lock (_gate)
        {
            UnreadableFrames = unreadable;
            UndeletableFrames = undeletable;
        }
    }
}

/// <summary>Wakes the uploader when the intake has queued something, so an idle uploader needs no polling loop.</summary>
public sealed class QueueSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled; one wake-up is enough.
        }
    }

    /// <summary>Waits for a notification or the timeout; true when notified.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
