using CsCheck;
using EdgeLabeling.Labeling.Merge;

namespace EdgeLabeling.Labeling.Tests.Merge;

public sealed class FingerprintSetTests
{
    [Fact]
    public void AddContainsRemove_AnySequence_AgreesWithHashSet()
    {
        // Values from a small range (zero included) so probe runs collide, wrap around the table end and get
        // shifted back by removals; large ones so both halves of the 128 bits matter.
        var genValue = Gen.OneOf(
            Gen.ULong[0, 40].Select(v => (UInt128)v),
            Gen.ULong[0, 40].Select(v => new UInt128(v, 7)),
            Gen.Select(Gen.ULong, Gen.ULong).Select((hi, lo) => new UInt128(hi, lo)));
        var genOp = Gen.Select(Gen.Int[0, 2], genValue);
        genOp.Array[0, 400].Sample(ops =>
        {
            var set = new FingerprintSet();
            var reference = new HashSet<UInt128>();
            foreach (var (op, value) in ops)
            {
                switch (op)
                {
                    case 0:
                        Assert.Equal(reference.Add(value), set.Add(value));
                        break;
                    case 1:
                        Assert.Equal(reference.Remove(value), set.Remove(value));
                        break;
                    default:
                        Assert.Equal(reference.Contains(value), set.Contains(value));
                        break;
                }

                Assert.Equal(reference.Count, set.Count);
            }

            Assert.All(reference, v => Assert.True(set.Contains(v)));
        }, iter: 2000);
    }

    [Fact]
    public void Add_AMillionFingerprints_Takes16BytesPerSlotAtMostThreeQuartersFull()
    {
        var set = new FingerprintSet();
        for (var i = 0; i < 1_000_000; i++)
        {
            Assert.True(set.Add(ImageIdentity.Fingerprint(i.ToString("x64", System.Globalization.CultureInfo.InvariantCulture))));
        }

        Assert.Equal(1_000_000, set.Count);
        // 2^21 slots of 16 bytes: 32 MiB for a million images (a HashSet<UInt128> holds 36 bytes per slot).
        Assert.Equal(1 << 21, set.Capacity);
        Assert.False(set.Add(ImageIdentity.Fingerprint(999_999.ToString("x64", System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void Constructor_ExpectedCount_HoldsThatManyWithoutGrowing()
    {
        var set = new FingerprintSet(expected: 1000);
        var capacity = set.Capacity;
        for (var i = 1; i <= 1000; i++)
        {
            set.Add(new UInt128((ulong)i, (ulong)i * 31));
        }

        Assert.Equal(capacity, set.Capacity);
        Assert.True(capacity * 3 / 4 >= 1000);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FingerprintSet(-1));
    }
}
