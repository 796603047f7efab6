using EdgeLabeling.Contracts;

namespace EdgeLabeling.Routing.Tests;

/// <summary>The one image-extension list (contracts) that the inbox, the calibration set, the simulator and the key layout share.</summary>
public sealed class ImageExtensionTests
{
    [Theory]
    [InlineData("frame.jpg", true)]
    [InlineData("FRAME.JPEG", true)]
    [InlineData("/data/cam1/x.Png", true)]
    [InlineData("s3://bucket/incoming/t/2026/11/26/abc.jpg", true)]
    [InlineData("frame.gif", false)]
    [InlineData("frame.jpg.json", false)]
    [InlineData("jpg", false)]
    [InlineData("dir.jpg/frame", false)]
    [InlineData("", false)]
    public void HasImageExtension_NameOrPath_MatchesTheKeyLayoutsList(string name, bool expected)
    {
        Assert.Equal(expected, ObjectKeyLayout.HasImageExtension(name));
    }

    [Fact]
    public void ImageExtensionsText_NamesEveryExtensionOfTheList() =>
        Assert.All(ObjectKeyLayout.ImageExtensions, e => Assert.Contains("." + e, ObjectKeyLayout.ImageExtensionsText, StringComparison.Ordinal));
}
