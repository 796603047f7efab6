namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// A set of 128-bit image fingerprints (<see cref="ImageIdentity.Fingerprint"/>) stored as bare 16-byte slots:
/// open addressing with linear probing in a power-of-two table, at most three quarters full. A
/// <see cref="HashSet{T}"/> of <see cref="UInt128"/> spends 36 bytes per slot (hash code, next index and a
/// 16-byte-aligned value, plus a bucket) and keeps its old and new tables alive while it grows; at a million
/// images that was the largest part of the export's peak. Here a slot is 16 bytes; the value 0 marks an
/// empty slot and the fingerprint 0 itself is kept in a flag.
/// </summary>
public sealed class FingerprintSet
{
    private const int MinCapacity = 16;

    private UInt128[] _slots;
    private int _shift;
    private int _used;
    private bool _hasZero;

    /// <summary>An empty set with room for <paramref name="expected"/> fingerprints before it first grows.</summary>
    public FingerprintSet(int expected = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expected);
        var capacity = MinCapacity;
        while (capacity - (capacity >> 2) < expected)
        {
            capacity <<= 1;
        }

        _slots = new UInt128[capacity];
        _shift = 64 - Log2(capacity);
    }

    public int Count => _used + (_hasZero ? 1 : 0);

    /// <summary>Slots in the table (for tests and memory estimates): 16 bytes each.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Adds <paramref name="fingerprint"/>; false when it was already there.</summary>
    public bool Add(UInt128 fingerprint)
    {
        if (fingerprint == UInt128.Zero)
        {
            var added = !_hasZero;
            _hasZero = true;
            return added;
        }

        if (_used + 1 > _slots.Length - (_slots.Length >> 2))
        {
            Grow();
        }

        var slots = _slots;
        var mask = slots.Length - 1;
        for (var i = Home(fingerprint); ; i = (i + 1) & mask)
        {
            var v = slots[i];
            if (v == fingerprint)
            {
                return false;
            }

            if (v == UInt128.Zero)
            {
                slots[i] = fingerprint;
                _used++;
                return true;
            }
        }
    }

    public bool Contains(UInt128 fingerprint)
    {
        if (fingerprint == UInt128.Zero)
        {
            return _hasZero;
        }

        var slots = _slots;
        var mask = slots.Length - 1;
        for (var i = Home(fingerprint); ; i = (i + 1) & mask)
        {
            var v = slots[i];
            if (v == fingerprint)
            {
                return true;
            }

            if (v == UInt128.Zero)
            {
                return false;
            }
        }
    }

    /// <summary>Removes <paramref name="fingerprint"/>; false when it was not there.</summary>
    public bool Remove(UInt128 fingerprint)
    {
        if (fingerprint == UInt128.Zero)
        {
            var removed = _hasZero;
            _hasZero = false;
            return removed;
        }

        var slots = _slots;
        var mask = slots.Length - 1;
        var hole = Home(fingerprint);
        while (slots[hole] != fingerprint)
        {
            if (slots[hole] == UInt128.Zero)
            {
                return false;
            }

            hole = (hole + 1) & mask;
        }

        // Backward-shift deletion: move later entries of the probe run into the hole when their home slot
        // does not lie between the hole and where they sit, so every lookup still finds them without tombstones.
        for (var j = (hole + 1) & mask; slots[j] != UInt128.Zero; j = (j + 1) & mask)
        {
            var home = Home(slots[j]);
            var staysPut = hole <= j ? home > hole && home <= j : home > hole || home <= j;
            if (!staysPut)
            {
                slots[hole] = slots[j];
                hole = j;
            }
        }

        slots[hole] = UInt128.Zero;
        _used--;
        return true;
    }

    /// <summary>Fibonacci hashing of both halves: fingerprints are uniform already, but a set must not depend on it.</summary>
    private int Home(UInt128 fingerprint) =>
        (int)((((ulong)fingerprint ^ (ulong)(fingerprint >> 64)) * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>Tables at least this large (4 MiB) are released at once when replaced; see <see cref="Grow"/>.</summary>
    internal const int ReleaseAtSlots = 1 << 18;

    private void Grow()
    {
        var old = _slots;
        _slots = new UInt128[old.Length * 2];
        _shift--;
        var mask = _slots.Length - 1;
        foreach (var v in old)
        {
            if (v == UInt128.Zero)
            {
                continue;
            }

            var i = Home(v);
            while (_slots[i] != UInt128.Zero)
            {
                i = (i + 1) & mask;
            }

            _slots[i] = v;
        }

        if (old.Length >= ReleaseAtSlots)
        {
            // The replaced table is large-object-heap garbage, which a workstation GC reclaims only at its next
            // full collection; the large-object budget can put that off past the set's next growth, so at a
            // million images the export's two sets carried up to 64 MB of dead tables (peak 190 vs 255 MiB
            // between two runs of the bench). Collect it now: at most a few times per set (one per doubling
            // from 4 MiB up), a few milliseconds each while the heap is small.
            old = null;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        }
    }

    private static int Log2(int powerOfTwo) => System.Numerics.BitOperations.Log2((uint)powerOfTwo);
}
