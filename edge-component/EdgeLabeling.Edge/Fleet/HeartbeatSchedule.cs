namespace EdgeLabeling.Edge.Fleet;

/// <summary>
/// Decides when a heartbeat goes out: the first one at start, then every <c>interval</c>, and early when
/// the device's state changes — but never two within <c>minInterval</c> (a flapping link cannot turn
/// heartbeats into a stream). A failed send is not queued: the next attempt waits a full interval, or
/// for the state to change again (the link coming back is such a change), and sends the state of that
/// moment. Pure and clock-driven, so tests step through hours of it.
/// </summary>
public sealed class HeartbeatSchedule(TimeSpan interval, TimeSpan minInterval)
{
    private DateTimeOffset? _lastAttempt;
    private DateTimeOffset? _lastSent;
    private string? _sentState;
    private DateTimeOffset? _failedAt;
    private string? _failedState;

    public TimeSpan Interval { get; } = interval;
    public TimeSpan MinInterval { get; } = minInterval;

    /// <summary>Heartbeats sent since start.</summary>
    public long Sent { get; private set; }

    /// <summary>The reason to send now (<c>start</c>, <c>interval</c>, <c>state-change</c>), or null for "not now".</summary>
    public string? Due(DateTimeOffset now, string state)
    {
        if (_lastAttempt is null)
        {
            return HeartbeatSendReasons.Start;
        }

        string? reason = null;
        if (_failedAt is { } failed)
        {
            // After a failure: retry on the interval, or early when the state moved on since.
            if (now - failed >= Interval)
            {
                reason = HeartbeatSendReasons.Interval;
            }
            else if (!string.Equals(state, _failedState, StringComparison.Ordinal))
            {
                reason = HeartbeatSendReasons.StateChange;
            }
        }
        else if (_lastSent is null || now - _lastSent.Value >= Interval)
        {
            reason = HeartbeatSendReasons.Interval;
        }
        else if (!string.Equals(state, _sentState, StringComparison.Ordinal))
        {
            reason = HeartbeatSendReasons.StateChange;
        }

        if (reason is null)
        {
            return null;
        }

        return now - _lastAttempt.Value < MinInterval ? null : reason;
    }

    public void Succeeded(DateTimeOffset now, string state)
    {
        _lastAttempt = now;
        _lastSent = now;
        _sentState = state;
        _failedAt = null;
        _failedState = null;
        Sent++;
    }

    public void Failed(DateTimeOffset now, string state)
    {
        _lastAttempt = now;
        _failedAt = now;
        _failedState = state;
    }
}

/// <summary>Values of <see cref="Contracts.FleetHeartbeat.Reason"/>.</summary>
public static class HeartbeatSendReasons
{
    public const string Start = "start";
    public const string Interval = "interval";
    public const string StateChange = "state-change";

    /// <summary>Sent on request, outside the schedule (<see cref="HeartbeatWorker.SendNowAsync"/>).</summary>
    public const string Requested = "requested";
}
