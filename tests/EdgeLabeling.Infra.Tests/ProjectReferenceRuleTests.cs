using System.Xml.Linq;

namespace EdgeLabeling.Infra.Tests;

/// <summary>
/// The project references allowed by docs/architecture.md, checked against every project file outside tests/:
/// a new reference either fits the table or the table (and this test) changes with it.
/// </summary>
public sealed class ProjectReferenceRuleTests
{
    /// <summary>Project → the projects it may reference (the table in docs/architecture.md).</summary>
    private static readonly Dictionary<string, string[]> Allowed = new(StringComparer.Ordinal)
    {
        ["EdgeLabeling.Contracts"] = [],
        ["EdgeLabeling.Storage"] = ["EdgeLabeling.Contracts"],
        ["EdgeLabeling.Inference"] = ["EdgeLabeling.Contracts"],
        ["EdgeLabeling.Routing"] = ["EdgeLabeling.Inference"],
        ["EdgeLabeling.Edge"] = ["EdgeLabeling.Routing", "EdgeLabeling.Storage"],
        ["EdgeLabeling.Edge.Component"] = ["EdgeLabeling.Edge"],
        ["EdgeLabeling.Evaluation"] = ["EdgeLabeling.Contracts"],
        ["EdgeLabeling.Labeling"] = ["EdgeLabeling.Storage", "EdgeLabeling.Evaluation"],
        ["EdgeLabeling.Review"] = ["EdgeLabeling.Labeling"],
        ["EdgeLabeling.Lambdas"] = ["EdgeLabeling.Labeling", "EdgeLabeling.Review"],
        ["EdgeLabeling.Simulation"] = ["EdgeLabeling.Labeling"],
        ["EdgeLabeling.Infra"] = ["EdgeLabeling.Contracts"],
        ["EdgeLabeling.Cli"] = ["EdgeLabeling.Edge", "EdgeLabeling.Labeling", "EdgeLabeling.Lambdas", "EdgeLabeling.Review", "EdgeLabeling.Simulation", "EdgeLabeling.Evaluation"],
        ["EdgeLabeling.Benchmarks"] = ["EdgeLabeling.Edge", "EdgeLabeling.Labeling", "EdgeLabeling.Review"],
    };

    private static readonly string[] EdgeSide = ["EdgeLabeling.Inference", "EdgeLabeling.Routing", "EdgeLabeling.Edge", "EdgeLabeling.Edge.Component"];

    private static readonly string[] CloudSide = ["EdgeLabeling.Labeling", "EdgeLabeling.Review", "EdgeLabeling.Lambdas", "EdgeLabeling.Simulation"];

    private static Dictionary<string, string[]> ProductReferences()
    {
        var projects = Directory.EnumerateFiles(RepoPaths.Root, "*.csproj", SearchOption.AllDirectories)
            .Where(p => !Path.GetRelativePath(RepoPaths.Root, p).Split(Path.DirectorySeparatorChar).Any(part => part is "tests" or "bin" or "obj" or "node_modules"))
            .ToList();
        return projects.ToDictionary(
            p => Path.GetFileNameWithoutExtension(p),
            p => XDocument.Load(p).Descendants("ProjectReference")
                .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
                .Order(StringComparer.Ordinal)
                .ToArray(),
            StringComparer.Ordinal);
    }

    [Fact]
    public void EveryProject_IsInTheTableAndReferencesOnlyWhatItAllows()
    {
        var actual = ProductReferences();

        Assert.Equal(Allowed.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        Assert.All(actual, p => Assert.True(p.Value.All(r => Allowed[p.Key].Contains(r, StringComparer.Ordinal)),
            $"{p.Key} references {string.Join(", ", p.Value.Except(Allowed[p.Key], StringComparer.Ordinal))}, which docs/architecture.md does not allow"));
    }

    [Fact]
    public void Table_KeepsEdgeAndCloudApartAndTheCdkAppFreeOfRuntimeProjects()
    {
        Assert.All(EdgeSide, p => Assert.Empty(Closure(p).Intersect(CloudSide)));
        Assert.All(CloudSide, p => Assert.Empty(Closure(p).Intersect(EdgeSide)));
        Assert.Equal(new[] { "EdgeLabeling.Contracts" }, Closure("EdgeLabeling.Infra"));
    }

    [Fact]
    public void ArchitectureDoc_ListsEveryProjectOfTheTable()
    {
        var doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "architecture.md"));

        Assert.All(Allowed.Keys, p => Assert.Contains($"/{p}`", doc, StringComparison.Ordinal));
    }

    /// <summary>Everything <paramref name="project"/> may reach through allowed references.</summary>
    private static List<string> Closure(string project)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var todo = new Stack<string>(Allowed[project]);
        while (todo.TryPop(out var next))
        {
            if (seen.Add(next))
            {
                foreach (var r in Allowed[next])
                {
                    todo.Push(r);
                }
            }
        }

        return [.. seen];
    }
}
