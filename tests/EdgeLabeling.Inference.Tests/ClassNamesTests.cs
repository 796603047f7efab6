namespace EdgeLabeling.Inference.Tests;

public class ClassNamesTests
{
    [Fact]
    public void ParseMetadata_UltralyticsSingleQuotes_ReturnsNamesInIdOrder() =>
        Assert.Equal(["bolt", "nut", "washer"], ClassNames.ParseMetadata("{0: 'bolt', 1: 'nut', 2: 'washer'}"));

    [Fact]
    public void ParseMetadata_DoubleQuotes_ReturnsNames() =>
        Assert.Equal(["a", "b"], ClassNames.ParseMetadata("{0: \"a\", 1: \"b\"}"));

    [Fact]
    public void ParseMetadata_NamesWithCommasColonsAndEscapedQuotes_KeepsThemWhole() =>
        Assert.Equal(["hex, M8", "a: b", "it's", "say \"hi\"", "back\\slash"],
            ClassNames.ParseMetadata(@"{0: 'hex, M8', 1: 'a: b', 2: 'it\'s', 3: ""say \""hi\"""", 4: 'back\\slash'}"));

    [Fact]
    public void ParseMetadata_PythonReprOfQuoteMix_UsesOtherQuoteStyle() =>
        // Python prints a name containing ' with double quotes: {0: "it's"}.
        Assert.Equal(["it's"], ClassNames.ParseMetadata("{0: \"it's\"}"));

    [Fact]
    public void ParseMetadata_UnorderedIds_SortsById() =>
        Assert.Equal(["zero", "one"], ClassNames.ParseMetadata("{1: 'one', 0: 'zero'}"));

    [Fact]
    public void ParseMetadata_JsonObjectWithQuotedKeys_ReturnsNames() =>
        Assert.Equal(["x", "y"], ClassNames.ParseMetadata("{\"0\": \"x\", \"1\": \"y\"}"));

    [Fact]
    public void ParseMetadata_List_ReturnsNames() =>
        Assert.Equal(["x", "y"], ClassNames.ParseMetadata("['x', 'y',]"));

    [Fact]
    public void ParseMetadata_UnicodeEscape_IsDecoded() =>
        Assert.Equal(["Mutter é"], ClassNames.ParseMetadata(@"{0: 'Mutter \xe9'}"));

    [Fact]
    public void ParseMetadata_GapInIds_ThrowsNamingMissingId()
    {
        var ex = Assert.Throws<FormatException>(() => ClassNames.ParseMetadata("{0: 'a', 2: 'c'}"));
        Assert.Contains("id 1 is missing", ex.Message);
    }

    [Theory]
    [InlineData("bolt, nut")]
    [InlineData("{0: 'a'")]
    [InlineData("{0: a}")]
    [InlineData("{0: 'a', 0: 'b'}")]
    [InlineData("{0 'a'}")]
    [InlineData("{0: 'a'} trailing")]
    public void ParseMetadata_Malformed_ThrowsFormatException(string text) =>
        Assert.Throws<FormatException>(() => ClassNames.ParseMetadata(text));

    [Fact]
    public void ReadLabelsFile_BlankLinesAndCrLf_AreIgnored()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "bolt\r\n\r\n  nut \r\nwasher\r\n");
            Assert.Equal(["bolt", "nut", "washer"], ClassNames.ReadLabelsFile(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ReadLabelsFile_Missing_ThrowsModelLoadExceptionNamingPath()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-labels-" + Guid.NewGuid() + ".txt");
        var ex = Assert.Throws<ModelLoadException>(() => ClassNames.ReadLabelsFile(path));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Fallback_Three_ReturnsNumberedNames() => Assert.Equal(["class0", "class1", "class2"], ClassNames.Fallback(3));
}
