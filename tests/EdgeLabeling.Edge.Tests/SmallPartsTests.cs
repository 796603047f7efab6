using EdgeLabeling.Edge.Intake;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLabeling.Edge.Tests;

public sealed class TimeWindowTests
{
    [Theory]
    [InlineData("01:00-05:00", "00:59", false)]
    [InlineData("01:00-05:00", "01:00", true)]
    [InlineData("01:00-05:00", "04:59", true)]
    [InlineData("01:00-05:00", "05:00", false)]
    [InlineData("22:00-04:00", "23:30", true)]
    [InlineData("22:00-04:00", "03:59", true)]
    [InlineData("22:00-04:00", "12:00", false)]
    public void Contains_AtTime_MatchesHalfOpenWindow(string window, string time, bool expected) =>
        Assert.Equal(expected, TimeWindow.Parse(window).Contains(TimeOnly.Parse(time, System.Globalization.CultureInfo.InvariantCulture)));

    [Theory]
    [InlineData("")]
    [InlineData("1-5")]
    [InlineData("01:00")]
    [InlineData("25:00-05:00")]
    [InlineData("03:00-03:00")]
    public void TryParse_WhenMalformed_ReturnsFalse(string text) => Assert.False(TimeWindow.TryParse(text, out _));
}

public sealed class EdgeOptionsValidatorTests
{
    private static EdgeOptions Valid() => new()
    {
        ThingName = "site-7_gw",
        InputDirectory = "/in",
        WorkDirectory = "/work",
        Bucket = "edge-bucket",
        Region = "eu-west-1",
    };

    [Fact]
    public void Validate_WhenAllGood_Succeeds() =>
        Assert.True(new EdgeOptionsValidator { RequireModel = false }.Validate(null, Valid()).Succeeded);

    [Theory]
    [InlineData("Bucket", "Bad_Bucket")]
    [InlineData("ThingName", "has space")]
    [InlineData("LowPriorityWindow", "1am-5am")]
    [InlineData("S3Endpoint", "ftp://x")]
    [InlineData("ChecksumMode", "sometimes")]
    [InlineData("CameraGroup", "Camera Group")]
    [InlineData("CameraGroup", "-cam")]
    public void Validate_WhenFieldIsBad_NamesFieldAndValue(string field, string value)
    {
        var o = Valid();
        typeof(EdgeOptions).GetProperty(field)!.SetValue(o, value);
        var result = new EdgeOptionsValidator { RequireModel = false }.Validate(null, o);
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith(field + ":", StringComparison.Ordinal) && f.Contains(value, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_WhenNumbersOutOfRange_ReportsEachField()
    {
        var o = Valid();
        o.DiskQuotaBytes = 10;
        o.UncertainLow = 0.9;
        o.UploadJpegQuality = 0;
        var failures = new EdgeOptionsValidator { RequireModel = false }.Validate(null, o).Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("DiskQuotaBytes:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("UncertainLow:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("UploadJpegQuality:", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_WhenModelRequiredAndMissing_NamesModelPath()
    {
        var o = Valid();
        o.ModelPath = "/nope/model.onnx";
        var result = new EdgeOptionsValidator().Validate(null, o);
        Assert.Contains(result.Failures!, f => f.StartsWith("ModelPath:", StringComparison.Ordinal) && f.Contains("/nope/model.onnx", StringComparison.Ordinal));
    }

    [Fact]
    public void ApplyEnvironmentDefaults_WhenUnset_TakesNucleusVariables()
    {
        var o = new EdgeOptions();
        o.ApplyEnvironmentDefaults(n => n switch { "AWS_IOT_THING_NAME" => "core-1", "AWS_REGION" => "ap-south-1", _ => null });
        Assert.Equal("core-1", o.ThingName);
        Assert.Equal("ap-south-1", o.Region);
    }
}

public sealed class TokenBucketTests
{
    [Fact]
    public async Task ConsumeAsync_BeyondBurst_WaitsForRefill()
    {
        var bucket = new TokenBucket(bytesPerSecond: 1_000_000, burstBytes: 100_000);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await bucket.ConsumeAsync(100_000);
        await bucket.ConsumeAsync(400_000);
        // 400 kB of debt at 1 MB/s cannot be paid in less than ~0.4 s (lower bound only: CI may be slower).
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(350), $"took {sw.Elapsed}");
        Assert.Equal(500_000, bucket.TotalConsumed);
    }

    [Fact]
    public async Task ThrottledStream_ReadTwiceAfterRewind_ChargesEachByteOnce()
    {
        var bucket = new TokenBucket(bytesPerSecond: 50_000_000);
        var data = Bytes.Random(300_000, 1);
        await using var s = new ThrottledStream(new MemoryStream(data), bucket);
        var copy1 = new MemoryStream();
        await s.CopyToAsync(copy1);
        s.Position = 0;
        var copy2 = new MemoryStream();
        s.CopyTo(copy2);
        Assert.Equal(data, copy1.ToArray());
        Assert.Equal(data, copy2.ToArray());
        Assert.Equal(data.Length, bucket.TotalConsumed);
    }

    [Fact]
    public void Constructor_WithZeroRate_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(0));
}

public sealed class InboxScannerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ScanReady_IgnoresTemporaryAndHiddenNames()
    {
        foreach (var n in new[] { ".frame.jpg", "frame.jpg.tmp", "frame.part", "~lock.jpg", "ok.JPG", "ok2.png" })
        {
            File.WriteAllBytes(Path.Combine(_dir.Path, n), [1, 2, 3]);
        }

        var scanner = new InboxScanner(_dir.Path, TimeSpan.Zero);
        Assert.Equal(["ok.JPG", "ok2.png"], scanner.ScanReady().Select(p => Path.GetFileName(p)).ToArray());
    }

    [Fact]
    public void ScanReady_WhenNotAnImageName_RaisesIgnoredOnce()
    {
        File.WriteAllText(Path.Combine(_dir.Path, "notes.txt"), "x");
        var scanner = new InboxScanner(_dir.Path, TimeSpan.Zero);
        var ignored = new List<string>();
        scanner.Ignored += ignored.Add;
        scanner.ScanReady();
        scanner.ScanReady();
        Assert.Single(ignored);
    }

    [Fact]
    public void ScanReady_WhileFileKeepsChanging_WaitsForStability()
    {
        var path = Path.Combine(_dir.Path, "growing.jpg");
        File.WriteAllBytes(path, [1]);
        var time = new FakeTimeProvider();
        var scanner = new InboxScanner(_dir.Path, TimeSpan.FromMilliseconds(300), time);
        Assert.Empty(scanner.ScanReady());
        File.AppendAllText(path, "more");
        time.Advance(TimeSpan.FromMilliseconds(400));
        Assert.Empty(scanner.ScanReady());
        time.Advance(TimeSpan.FromMilliseconds(400));
        Assert.Equal([path], scanner.ScanReady());
    }

    [Fact]
    public void ScanReady_WhileWriterHoldsExclusiveLock_HoldsFileBack()
    {
        var path = Path.Combine(_dir.Path, "locked.jpg");
        using (var writer = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            writer.Write([1, 2, 3]);
            writer.Flush();
            var scanner = new InboxScanner(_dir.Path, TimeSpan.Zero);
            Assert.Empty(scanner.ScanReady());
            writer.Close();
            Assert.Equal([path], scanner.ScanReady());
        }
    }
}

public sealed class ObjectUploaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task PutOnceAsync_WhenSameContentAlreadyStored_SendsNothing()
    {
        var store = new FileSystemObjectStore(_dir.Path);
        var uploader = new ObjectUploader(new FixedObjectStoreProvider(store), "bucket-a", null);
        var data = Bytes.Random(5000, 3);
        var sha = Bytes.Sha(data);
        Assert.Equal(5000, await uploader.PutOnceAsync("k/a.jpg", () => new MemoryStream(data), data.Length, sha, "image/jpeg", default));
        Assert.Equal(0, await uploader.PutOnceAsync("k/a.jpg", () => new MemoryStream(data), data.Length, sha, "image/jpeg", default));
        Assert.Equal(sha, (await store.HeadAsync("bucket-a", "k/a.jpg"))!.Metadata[ObjectUploader.Sha256MetadataKey]);
    }

    [Fact]
    public async Task PutOnceAsync_WhenStoredObjectDiffers_Overwrites()
    {
        var store = new FileSystemObjectStore(_dir.Path);
        await store.PutBytesAsync("bucket-a", "k/a.jpg", new byte[] { 9, 9 }, "image/jpeg");
        var uploader = new ObjectUploader(new FixedObjectStoreProvider(store), "bucket-a", null);
        var data = Bytes.Random(100, 4);
        Assert.Equal(100, await uploader.PutOnceAsync("k/a.jpg", () => new MemoryStream(data), data.Length, Bytes.Sha(data), "image/jpeg", default));
        Assert.Equal(data, await store.ReadBytesAsync("bucket-a", "k/a.jpg"));
    }
}
