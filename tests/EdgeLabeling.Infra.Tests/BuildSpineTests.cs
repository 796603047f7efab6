using System.Xml.Linq;

namespace EdgeLabeling.Infra.Tests;

/// <summary>The one build spine: central package versions that something uses, and the analyzers on for every project.</summary>
public sealed class BuildSpineTests
{
    private static IEnumerable<string> ProjectAndPropsFiles() =>
        Directory.EnumerateFiles(RepoPaths.Root, "*.*", SearchOption.AllDirectories)
            .Where(p => p.EndsWith(".csproj", StringComparison.Ordinal) || p.EndsWith(".props", StringComparison.Ordinal))
            .Where(p => !Path.GetRelativePath(RepoPaths.Root, p).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or "node_modules"))
            .Where(p => Path.GetFileName(p) != "Directory.Packages.props");

    [Fact]
    public void DirectoryPackagesProps_EveryVersionIsReferencedBySomeProject()
    {
        var versions = XDocument.Load(Path.Combine(RepoPaths.Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .Select(v => v.Attribute("Include")!.Value)
            .ToList();
        var referenced = ProjectAndPropsFiles()
            .SelectMany(p => XDocument.Load(p).Descendants("PackageReference"))
            .Select(r => r.Attribute("Include")?.Value ?? r.Attribute("Update")?.Value)
            .OfType<string>()
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

        Assert.NotEmpty(versions);
        var unused = versions.Where(v => !referenced.Contains(v)).ToList();
        Assert.True(unused.Count == 0, $"Directory.Packages.props pins versions nothing references: {string.Join(", ", unused)}");
    }

    [Fact]
    public void DirectoryBuildProps_TurnsOnTheAnalyzersWithWarningsAsErrors()
    {
        var properties = XDocument.Load(Path.Combine(RepoPaths.Root, "Directory.Build.props")).Descendants("PropertyGroup").Elements()
            .ToDictionary(e => e.Name.LocalName, e => e.Value.Trim(), StringComparer.Ordinal);

        Assert.Equal("true", properties["TreatWarningsAsErrors"]);
        Assert.Equal("latest", properties["AnalysisLevel"]);
        Assert.Equal("true", properties["EnforceCodeStyleInBuild"]);
    }
}
