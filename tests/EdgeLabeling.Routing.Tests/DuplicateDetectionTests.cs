using EdgeLabeling.Inference;

namespace EdgeLabeling.Routing.Tests;

public class DuplicateDetectionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 8, 0, 0, TimeSpan.Zero);
    private const string ShaA = "aaaaaaaaaaaa0000000000000000000000000000000000000000000000000000";
    private const string ShaB = "bbbbbbbbbbbb0000000000000000000000000000000000000000000000000000";

    [Fact]
    public void MatchOrAdd_WithinDistanceAndWindow_ReturnsOriginal()
    {
        var cache = new NearDuplicateCache(5, TimeSpan.FromMinutes(10), 16);

        Assert.Null(cache.MatchOrAdd("cam1", T0, 0b0, ShaA));
        Assert.Equal(ShaA, cache.MatchOrAdd("cam1", T0.AddMinutes(9), 0b11111, ShaB));
    }

    [Fact]
    public void MatchOrAdd_DistanceOneOverLimit_IsNotDuplicate()
    {
        var cache = new NearDuplicateCache(5, TimeSpan.FromMinutes(10), 16);

        cache.MatchOrAdd("cam1", T0, 0, ShaA);

        Assert.Null(cache.MatchOrAdd("cam1", T0, 0b111111, ShaB));
    }

    [Fact]
    public void MatchOrAdd_ExactlyAtWindowEdge_IsDuplicate_JustPastIsNot()
    {
        var cache = new NearDuplicateCache(5, TimeSpan.FromMinutes(10), 16);
        cache.MatchOrAdd("cam1", T0, 42, ShaA);

        Assert.Equal(ShaA, cache.MatchOrAdd("cam1", T0.AddMinutes(10), 42, ShaB));
        Assert.Null(cache.MatchOrAdd("cam1", T0.AddMinutes(10).AddSeconds(1), 42, ShaB));
    }

    [Fact]
    public void MatchOrAdd_EarlierCaptureTimeWithinWindow_IsDuplicate()
    {
        var cache = new NearDuplicateCache(5, TimeSpan.FromMinutes(10), 16);
        cache.MatchOrAdd("cam1", T0, 42, ShaA);

        Assert.Equal(ShaA, cache.MatchOrAdd("cam1", T0.AddMinutes(-5), 42, ShaB));
    }

    [Fact]
    public void MatchOrAdd_DifferentCameras_AreNeverDuplicates()
    {
        var cache = new NearDuplicateCache(5, TimeSpan.FromMinutes(10), 16);
        cache.MatchOrAdd("cam1", T0, 42, ShaA);

        Assert.Null(cache.MatchOrAdd("cam2", T0, 42, ShaB));
        Assert.Null(cache.MatchOrAdd(null, T0, 42, ShaB));
    }

    [Fact]
    public void MatchOrAdd_DuplicatesAreNotRemembered_SoStaticSceneIsResampledAfterWindow()
    {
        var cache = new NearDuplicateCache(5, TimeSpan.FromMinutes(10), 16);

        var kept = Enumerable.Range(0, 30).Count(minute => cache.MatchOrAdd("cam1", T0.AddMinutes(minute), 7, ShaA) is null);

        // Minutes 0, 11 and 22 start a new window each; the rest duplicate the kept frame.
        Assert.Equal(3, kept);
        Assert.Equal(3, cache.CountFor("cam1"));
    }

    [Fact]
    public void MatchOrAdd_CacheIsBoundedPerCamera_OldestEvicted()
    {
        var cache = new NearDuplicateCache(0, TimeSpan.FromHours(1), 4);
        for (var i = 0; i < 10; i++)
        {
            Assert.Null(cache.MatchOrAdd("cam1", T0, (ulong)1 << i, ShaA));
        }

        Assert.Equal(4, cache.CountFor("cam1"));
        Assert.Null(cache.MatchOrAdd("cam1", T0, 1UL << 0, ShaB)); // evicted long ago
        Assert.NotNull(cache.MatchOrAdd("cam1", T0, 1UL << 9, ShaB)); // still remembered
    }

    [Fact]
    public void MatchOrAdd_SeveralCandidates_ReturnsTheClosest()
    {
        var cache = new NearDuplicateCache(5, TimeSpan.FromMinutes(10), 16);
        cache.MatchOrAdd("cam1", T0, 0b1111, ShaA);
        cache.MatchOrAdd("cam1", T0, 0b1111_0000_0000, ShaB);

        Assert.Equal(ShaB, cache.MatchOrAdd("cam1", T0, 0b0111_0000_0000, new string('c', 64)));
    }

    [Fact]
    public void PerceptualHash_NoisyFrameOfSameScene_IsWithinDefaultDistance()
    {
        using var a = Decode(TestImages.Png(160, 120, seed: 3));
        using var b = Decode(TestImages.Png(160, 120, seed: 3, noise: 6, frame: 1));

        Assert.InRange(PerceptualHash.Distance(PerceptualHash.Compute(a.Bitmap), PerceptualHash.Compute(b.Bitmap)), 0, 5);
    }

    [Fact]
    public void PerceptualHash_JpegReencodeOfSameScene_IsWithinDefaultDistance()
    {
        using var a = Decode(TestImages.Png(160, 120, seed: 4));
        using var b = Decode(TestImages.Jpeg(160, 120, seed: 4));

        Assert.InRange(PerceptualHash.Distance(PerceptualHash.Compute(a.Bitmap), PerceptualHash.Compute(b.Bitmap)), 0, 5);
    }

    [Fact]
    public void PerceptualHash_DifferentScenes_AreFarApart()
    {
        var hashes = Enumerable.Range(0, 20).Select(seed =>
        {
            using var d = Decode(TestImages.Png(160, 120, seed: 100 + seed));
            return PerceptualHash.Compute(d.Bitmap);
        }).ToList();

        var closest = hashes.SelectMany((h, i) => hashes.Skip(i + 1).Select(o => PerceptualHash.Distance(h, o))).Min();
        Assert.True(closest > 5, $"two different scenes were only {closest} bits apart");
    }

    [Fact]
    public void PerceptualHash_BgraAndRgbaOfSamePixels_Agree()
    {
        byte[] rgba = [10, 200, 30, 255, 250, 20, 40, 255, 0, 0, 0, 255];
        byte[] bgra = [30, 200, 10, 255, 40, 20, 250, 255, 0, 0, 0, 255];

        Assert.Equal(PerceptualHash.Compute(rgba, 3, 1, 12, bgr: false), PerceptualHash.Compute(bgra, 3, 1, 12, bgr: true));
    }

    [Fact]
    public void PerceptualHash_BufferTooSmall_ThrowsNamingSizes()
    {
        var ex = Assert.Throws<ArgumentException>(() => PerceptualHash.Compute(new byte[10], 4, 4, 16, bgr: false));

        Assert.Contains("4x4", ex.Message);
    }

    private static DecodedImage Decode(byte[] bytes) => new ImageDecoder().Decode(bytes);
}
