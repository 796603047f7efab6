namespace EdgeLabeling.Tests.Shared;

/// <summary>
/// The one way a test waits for something another thread, process or server does: poll a condition until it holds
/// or a deadline passes, then fail naming what never happened. Fixed sleeps are either too short on a busy machine
/// or needlessly long on an idle one; a bounded poll is neither.
/// </summary>
public static class Eventually
{
    /// <summary>How often a condition is checked unless the caller says otherwise.</summary>
    public static readonly TimeSpan DefaultPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Returns once <paramref name="condition"/> holds; once <paramref name="timeout"/> passes, fails with
    /// "did not happen within … s: <paramref name="what"/>" (plus <paramref name="state"/>, when given, to show where
    /// things stood).
    /// </summary>
    public static Task Until(Func<bool> condition, TimeSpan timeout, string what, Func<string>? state = null, TimeSpan? poll = null) =>
        Until(() => Task.FromResult(condition()), timeout, what, state, poll);

    /// <inheritdoc cref="Until(Func{bool}, TimeSpan, string, Func{string}?, TimeSpan?)"/>
    public static Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string>? state = null, TimeSpan? poll = null) =>
        Until(condition, timeout, () => state is null ? what : $"{what} ({state()})", poll);

    /// <summary>
    /// As <see cref="Until(Func{bool}, TimeSpan, string, Func{string}?, TimeSpan?)"/>, for a wait whose description
    /// carries where things stood (a status file, a process's output) and so is built only when it fails.
    /// </summary>
    public static Task Until(Func<bool> condition, TimeSpan timeout, Func<string> describe, TimeSpan? poll = null) =>
        Until(() => Task.FromResult(condition()), timeout, describe, poll);

    /// <inheritdoc cref="Until(Func{bool}, TimeSpan, Func{string}, TimeSpan?)"/>
    public static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, Func<string> describe, TimeSpan? poll = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"did not happen within {timeout.TotalSeconds:0.###} s: {describe()}");
            }

            await Task.Delay(poll ?? DefaultPoll);
        }
    }

    /// <summary>
    /// Lets real wall-clock time pass on purpose. Only for fault tests against real processes and servers, where the
    /// point is to let a component run (or a link stay cut) for a while before the next fault; <paramref name="why"/>
    /// says what the time is for, so a reader never mistakes it for a wait on a condition.
    /// </summary>
    public static Task Elapse(TimeSpan duration, string why, CancellationToken token = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(why);
        return Task.Delay(duration, token);
    }
}
