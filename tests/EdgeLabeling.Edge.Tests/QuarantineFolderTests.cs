using EdgeLabeling.Edge.Intake;

namespace EdgeLabeling.Edge.Tests;

public sealed class QuarantineFolderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private void Quarantined(string name, int bytes, int minutesAgo)
    {
        var path = Path.Combine(_dir.Path, name);
        File.WriteAllBytes(path, new byte[bytes]);
        File.WriteAllText(path + QuarantineFolder.ReasonSuffix, "truncated-image\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-minutesAgo));
    }

    [Fact]
    public void Prune_AboveCap_DeletesOldestFramesWithTheirNotesUntilUnder()
    {
        Quarantined("a.jpg", 1000, 30);
        Quarantined("b.jpg", 1000, 20);
        Quarantined("c.jpg", 1000, 10);
        Quarantined("d.jpg", 1000, 0);

        var deleted = QuarantineFolder.Prune(_dir.Path, 2100);

        Assert.Equal(["a.jpg", "b.jpg"], deleted);
        Assert.Equal(["c.jpg", "c.jpg.reason.txt", "d.jpg", "d.jpg.reason.txt"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(Directory.GetFiles(_dir.Path).Sum(f => new FileInfo(f).Length) <= 2100);
    }

    [Fact]
    public void Prune_UnderCap_DeletesNothing()
    {
        Quarantined("a.jpg", 1000, 5);
        Assert.Empty(QuarantineFolder.Prune(_dir.Path, 10_000));
        Assert.Equal(2, Directory.GetFiles(_dir.Path).Length);
    }

    [Fact]
    public void Prune_SingleFrameLargerThanCap_KeepsTheNewestFrame()
    {
        Quarantined("old.jpg", 500, 10);
        Quarantined("huge.jpg", 5000, 0);

        Assert.Equal(["old.jpg"], QuarantineFolder.Prune(_dir.Path, 1000));
        Assert.True(File.Exists(Path.Combine(_dir.Path, "huge.jpg")));
    }

    [Fact]
    public void Prune_MissingFolderOrBadCap_NothingOrClearError()
    {
        Assert.Empty(QuarantineFolder.Prune(Path.Combine(_dir.Path, "none"), 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuarantineFolder.Prune(_dir.Path, 0));
    }
}
