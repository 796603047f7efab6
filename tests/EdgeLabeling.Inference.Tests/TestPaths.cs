namespace EdgeLabeling.Inference.Tests;

/// <summary>Locates committed assets relative to the repository root (the folder holding the solution file).</summary>
internal static class TestPaths
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeLabelingStack.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"EdgeLabelingStack.sln not found above {AppContext.BaseDirectory}.");
    });

    public static string RepoRoot => Root.Value;

    public static string Asset(params string[] parts) => Path.Combine([RepoRoot, "tests", "assets", .. parts]);

    /// <summary>Assets owned by this test project (tests/EdgeLabeling.Inference.Tests/Assets).</summary>
    public static string Local(string name) => Path.Combine(RepoRoot, "tests", "EdgeLabeling.Inference.Tests", "Assets", name);

    public static string Sample(params string[] parts) => Path.Combine([RepoRoot, "samples", .. parts]);

    /// <summary>Reads a committed file, failing with a message that names it when it is missing.</summary>
    public static byte[] ReadAsset(string path) =>
        File.Exists(path) ? File.ReadAllBytes(path) : throw new FileNotFoundException($"Test asset missing: {path}", path);
}
