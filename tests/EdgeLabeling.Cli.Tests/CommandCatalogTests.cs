using EdgeLabeling.Cli.Commands;

namespace EdgeLabeling.Cli.Tests;

/// <summary>The catalog builds only the command a command line names; its names must be the commands' own.</summary>
public class CommandCatalogTests
{
    [Fact]
    public void Entries_EachNameIsTheNameOfTheCommandItBuilds()
    {
        Assert.All(CommandCatalog.Entries, e => Assert.Equal(e.Name, e.Create().Name));
        Assert.Equal(CommandCatalog.Entries.Count, CommandCatalog.Entries.Select(e => e.Name).Distinct().Count());
    }

    [Fact]
    public void For_FirstWordIsACommand_BuildsOnlyThatOne()
    {
        var built = CommandCatalog.For(["label", "--model", "m.onnx"]).ToList();

        Assert.Equal("label", Assert.Single(built).Name);
    }

    [Theory]
    [InlineData]
    [InlineData("--help")]
    [InlineData("lable")]
    [InlineData("--model")]
    public void For_NoCommandNamedFirst_BuildsEveryCommand(params string[] args)
    {
        Assert.Equal(CommandCatalog.Entries.Select(e => e.Name), CommandCatalog.For(args).Select(c => c.Name));
    }

    [Fact]
    public void RootHelp_ListsEveryCommand()
    {
        var (code, stdout, _) = CliRunner.Run("--help");

        Assert.Equal(0, code);
        Assert.All(CommandCatalog.Entries, e => Assert.Contains(e.Name, stdout, StringComparison.Ordinal));
    }

    [Fact]
    public void UnknownCommand_IsNamedWithTheRootsUsage()
    {
        var (code, _, stderr) = CliRunner.Run("lable", "--model", "m.onnx");

        Assert.Equal(2, code);
        Assert.Contains("edgelabel: error:", stderr, StringComparison.Ordinal);
        Assert.Contains("lable", stderr, StringComparison.Ordinal);
    }
}
