namespace EdgeLabeling.Inference;

/// <summary>
/// A small, bounded pool of byte arrays for per-frame buffers (encoded files, decoded pixels). Unlike
/// <see cref="System.Buffers.ArrayPool{T}.Shared"/>, which may keep a few dozen arrays per size class and per core
/// (tens of megabytes for megapixel frames), it never holds more than <see cref="MaxRetained"/> arrays: about as many
/// as a run has frames in flight. Thread-safe.
/// </summary>
public sealed class BoundedBufferPool
{
    private readonly Lock _lock = new();
    private readonly List<byte[]> _free = [];
    private readonly bool _pinned;

    /// <summary>Creates a pool keeping at most <paramref name="maxRetained"/> returned arrays.</summary>
    /// <param name="maxRetained">Arrays kept for reuse (1..1024).</param>
    /// <param name="pinned">Allocate on the pinned object heap, so native code may hold the address.</param>
    public BoundedBufferPool(int maxRetained, bool pinned = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRetained, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxRetained, 1024);
        MaxRetained = maxRetained;
        _pinned = pinned;
    }

    /// <summary>Most arrays kept between uses.</summary>
    public int MaxRetained { get; }

    /// <summary>Arrays currently kept for reuse.</summary>
    public int Retained
    {
        get
        {
            lock (_lock)
            {
                return _free.Count;
            }
        }
    }

    /// <summary>An array of at least <paramref name="minimumLength"/> bytes (contents undefined): the smallest kept one that fits, else a new one.</summary>
    public byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumLength, 1);
        lock (_lock)
        {
            var best = -1;
            for (var i = 0; i < _free.Count; i++)
            {
                if (_free[i].Length >= minimumLength && (best < 0 || _free[i].Length < _free[best].Length))
                {
                    best = i;
                }
            }

            if (best >= 0)
            {
                var array = _free[best];
                _free.RemoveAt(best);
                return array;
            }
        }

        // Rounded up to 64 KiB so that frames of slightly different sizes can share buffers.
        var length = (int)Math.Min(Array.MaxLength, ((long)minimumLength + 0xFFFF) & ~0xFFFFL);
        return GC.AllocateUninitializedArray<byte>(length, _pinned);
    }

    /// <summary>Gives an array back. When the pool is full the smallest array is let go, so the kept ones fit any frame seen so far.</summary>
    public void Return(byte[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        lock (_lock)
        {
            if (_free.Count < MaxRetained)
            {
                _free.Add(array);
                return;
            }

            var smallest = 0;
            for (var i = 1; i < _free.Count; i++)
            {
                if (_free[i].Length < _free[smallest].Length)
                {
                    smallest = i;
                }
            }

            if (_free[smallest].Length < array.Length)
            {
                _free[smallest] = array;
            }
        }
    }
}
