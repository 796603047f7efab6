namespace EdgeLabeling.Infra.Tests;

/// <summary>Locates files of the repository from the test's output folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string CdkJson => Path.Combine(Root, "cdk.json");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeLabelingStack.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"EdgeLabelingStack.sln not found above {AppContext.BaseDirectory}");
    }
}
