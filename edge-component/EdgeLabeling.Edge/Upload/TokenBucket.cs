namespace EdgeLabeling.Edge.Upload;

/// <summary>
/// A bandwidth cap: tokens (bytes) refill at a fixed rate up to a burst size; a caller that takes more than
/// is available waits for the deficit to refill. Shared by every upload so the cap is for the whole link.
/// </summary>
public sealed class TokenBucket
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly double _rate;
    private readonly double _burst;
    private double _tokens;
    private long _lastTicks;

    /// <param name="bytesPerSecond">Sustained rate; must be positive.</param>
    /// <param name="burstBytes">Bucket size; defaults to one second of traffic.</param>
    /// <param name="time">Clock (tests pass a fake one).</param>
    public TokenBucket(long bytesPerSecond, long burstBytes = 0, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        _time = time ?? TimeProvider.System;
        _rate = bytesPerSecond;
        _burst = burstBytes > 0 ? burstBytes : bytesPerSecond;
        _tokens = _burst;
        _lastTicks = _time.GetTimestamp();
    }

    public long BytesPerSecond => (long)_rate;

    /// <summary>Tokens taken since creation (bytes charged to the link).</summary>
    public long TotalConsumed { get; private set; }

    /// <summary>Takes <paramref name="bytes"/> tokens, waiting as long as the rate requires.</summary>
    public async ValueTask ConsumeAsync(long bytes, CancellationToken cancellationToken = default)
    {
        if (bytes <= 0)
        {
            return;
        }

        TimeSpan wait;
        lock (_gate)
        {
            Refill();
            // Going into debt keeps large reads simple: the caller waits until the debt is paid off.
            _tokens -= bytes;
            TotalConsumed += bytes;
            wait = _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / _rate);
        }

        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_lastTicks, now).TotalSeconds;
        _lastTicks = now;
        _tokens = Math.Min(_burst, _tokens + (elapsed * _rate));
    }
}

/// <summary>
/// Wraps a seekable upload stream and charges the <see cref="TokenBucket"/> for every byte read the first
/// time. The SDK may read a body twice (payload hash, then send; or a retry after rewinding): bytes below
/// the high-water mark are not charged again, so the cap counts each byte once per upload.
/// </summary>
public sealed class ThrottledStream(Stream inner, TokenBucket bucket, bool leaveOpen = false) : Stream
{
    private long _charged;

    public override bool CanRead => true;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => false;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var start = inner.CanSeek ? inner.Position : _charged;
        var n = inner.Read(buffer);
        bucket.ConsumeAsync(Charge(start, n)).AsTask().GetAwaiter().GetResult();
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var start = inner.CanSeek ? inner.Position : _charged;
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        await bucket.ConsumeAsync(Charge(start, n), cancellationToken).ConfigureAwait(false);
        return n;
    }

    private long Charge(long start, int read)
    {
        var end = start + read;
        if (end <= _charged)
        {
            return 0;
        }

        var fresh = end - Math.Max(start, _charged);
        _charged = end;
        return fresh;
    }

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
