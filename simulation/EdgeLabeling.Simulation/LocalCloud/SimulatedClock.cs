namespace EdgeLabeling.Simulation.LocalCloud;

/// <summary>
/// A clock the local cloud shares (pending-item ages, SigV4 dates, the simulator's verification, the schedule's
/// event time), moved forward to stand for the hours between the last upload and the batcher's age-based run.
/// </summary>
public sealed class SimulatedClock : TimeProvider
{
    private long _offsetTicks;

    /// <summary>How far the clock has been moved ahead of the real one.</summary>
    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;

    /// <summary>Moves the clock forward (thread-safe).</summary>
    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
