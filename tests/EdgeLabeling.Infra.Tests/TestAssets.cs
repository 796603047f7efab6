namespace EdgeLabeling.Infra.Tests;

/// <summary>
/// Small stand-ins for the Lambda publish output and the packaged component, so template tests never
/// depend on a real publish. The recipe is rendered from the repository's own templates
/// (edge-component/greengrass) exactly as scripts/package-component.sh fills them, so a change there
/// that breaks the stack (a renamed config key, a new artifact) fails these tests.
/// </summary>
internal sealed class TestAssets : IDisposable
{
    public const string ComponentName = "com.edgelabeling.Component";
    public const string ComponentVersion = "1.4.0";
    public const string X64Zip = "edgelabeling-component-linux-x64.zip";
    public const string Arm64Zip = "edgelabeling-component-linux-arm64.zip";
    public const string ModelFile = "parts-detector.onnx";

    public TestAssets()
    {
        Root = Path.Combine(Path.GetTempPath(), "edgelabeling-infra-tests-" + Guid.NewGuid().ToString("N"));
        LambdaDirectory = Directory.CreateDirectory(Path.Combine(Root, "lambdas")).FullName;
        File.WriteAllText(Path.Combine(LambdaDirectory, "EdgeLabeling.Lambdas.dll"), "not a real assembly");
        // What scripts/publish-lambdas.sh writes for the configured arm64 functions (the stack checks the RID).
        File.WriteAllText(Path.Combine(LambdaDirectory, "EdgeLabeling.Lambdas.deps.json"), DepsJson("linux-arm64"));
        // What `npm run build:review` writes to review-app/dist (the stack checks for index.html).
        ReviewPageDirectory = Directory.CreateDirectory(Path.Combine(Root, "review-page")).FullName;
        File.WriteAllText(Path.Combine(ReviewPageDirectory, "index.html"), "<!doctype html><title>review</title>");
        ComponentDirectory = Directory.CreateDirectory(Path.Combine(Root, "component", ComponentVersion)).FullName;
        File.WriteAllText(Path.Combine(ComponentDirectory, X64Zip), "x64");
        File.WriteAllText(Path.Combine(ComponentDirectory, Arm64Zip), "arm64");
        File.WriteAllText(Path.Combine(ComponentDirectory, "recipe.json"), Recipe);
    }

    public string Root { get; }

    /// <summary>The head of a publish's deps.json for <paramref name="rid"/> (empty RID: a portable publish).</summary>
    public static string DepsJson(string rid) =>
        "{\"runtimeTarget\":{\"name\":\".NETCoreApp,Version=v10.0" + (rid.Length > 0 ? "/" + rid : "") + "\",\"signature\":\"\"},\"targets\":{},\"libraries\":{}}";

    public string LambdaDirectory { get; }

    public string ReviewPageDirectory { get; }

    public string ComponentDirectory { get; }

    /// <summary>recipe.json as scripts/package-component.sh 1.4.0 (self-contained, both RIDs) writes it.</summary>
    public static string Recipe { get; } = RenderPackagedRecipe();

    private static string RenderPackagedRecipe()
    {
        var dir = Path.Combine(RepoPaths.Root, "edge-component", "greengrass");
        var manifestTemplate = File.ReadAllText(Path.Combine(dir, "manifest.template.json"));
        var artifactBase = $"s3://edgelabeling-artifacts/components/{ComponentName}/{ComponentVersion}";
        var manifests = new[] { ("linux-x64", "amd64"), ("linux-arm64", "aarch64") }.Select(p => manifestTemplate
            .Replace("{{ARCH}}", p.Item2, StringComparison.Ordinal)
            .Replace("{{ARCHIVE}}", "edgelabeling-component-" + p.Item1, StringComparison.Ordinal)
            .Replace("{{ENTRY}}", "edgelabeling-component", StringComparison.Ordinal)
            .Replace("{{RUN_PREFIX}}", "exec ", StringComparison.Ordinal)
            .Replace("{{MODEL_FILE}}", ModelFile, StringComparison.Ordinal)
            .Replace("{{ARTIFACT_BASE}}", artifactBase, StringComparison.Ordinal))
            .Append(File.ReadAllText(Path.Combine(dir, "manifest-unsupported-arm.template.json")));
        return File.ReadAllText(Path.Combine(dir, "recipe.template.json"))
            .Replace("{{MANIFESTS}}", "[" + string.Join(", ", manifests) + "]", StringComparison.Ordinal)
            .Replace("{{VERSION}}", ComponentVersion, StringComparison.Ordinal)
            .Replace("{{COMPONENT_NAME}}", ComponentName, StringComparison.Ordinal)
            .Replace("{{BUCKET}}", "edgelabeling-incoming", StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; failing the run over it is not.
        }
    }
}
