using System.Text.Json.Nodes;
using EdgeLabeling.Infra.Configuration;
using EdgeLabeling.Infra.Edge;

namespace EdgeLabeling.Infra.Tests;

public sealed class ComponentRecipeTests
{
    private static readonly Dictionary<string, UploadedArtifact> Uploaded = new()
    {
        [TestAssets.X64Zip] = new("s3://assets/aaa111.zip", "aaa111.zip"),
        [TestAssets.Arm64Zip] = new("s3://assets/bbb222.zip", "bbb222.zip"),
    };

    private static string Run(JsonNode recipe, int manifest) =>
        recipe["Manifests"]![manifest]!["Lifecycle"]!["Run"]!["Script"]!.GetValue<string>();

    [Fact]
    public void Parse_PackagedRecipe_ReadsNameVersionArtifactsAndDefaults()
    {
        var recipe = ComponentRecipe.Parse(TestAssets.Recipe);

        Assert.Equal(TestAssets.ComponentName, recipe.Name);
        Assert.Equal(TestAssets.ComponentVersion, recipe.Version);
        Assert.Equal([TestAssets.X64Zip, TestAssets.Arm64Zip], recipe.ArtifactFileNames);
        // Empty: the component's routing file decides until a deployment sets the thresholds or the label attribute (options override only when set).
        Assert.All(["AutoAcceptThreshold", "UncertainLow", "AuditRate", "ClassThresholds", "LabelAttribute"], key => Assert.Equal("", recipe.DefaultConfiguration[key]!.GetValue<string>()));
    }

    [Fact]
    public void PackagedRecipe_On32BitArm_FailsInstallWithAClearMessage()
    {
        var recipe = JsonNode.Parse(ComponentRecipe.Parse(TestAssets.Recipe).Render(Uploaded))!;
        // A 32-bit OS reports os.arch "arm"; the nucleus picks the first manifest whose platform matches.
        var manifest = recipe["Manifests"]!.AsArray().First(m => m!["Platform"]!["architecture"]!.GetValue<string>() == "arm")!;

        Assert.Equal("linux", manifest["Platform"]!["os"]!.GetValue<string>());
        Assert.Null(manifest["Artifacts"]); // nothing to download: there is no 32-bit build
        Assert.Null(manifest["Lifecycle"]!["Run"]);
        // The Install step runs through sh -c like the nucleus does; a non-zero exit fails the deployment.
        var psi = new System.Diagnostics.ProcessStartInfo("sh", ["-c", manifest["Lifecycle"]!["Install"]!["Script"]!.GetValue<string>()])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = System.Diagnostics.Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();

        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains($"{TestAssets.ComponentName} {TestAssets.ComponentVersion} needs a 64-bit Linux", stderr);
        Assert.Contains("32-bit OS (architecture arm)", stderr);
        Assert.Contains("Raspberry Pi OS (64-bit)", stderr);
    }

    [Fact]
    public void PackagedRecipe_DependsOnNucleusWithSigtermSoftly()
    {
        var nucleus = JsonNode.Parse(TestAssets.Recipe)!["ComponentDependencies"]!["aws.greengrass.Nucleus"]!;

        // SOFT: a nucleus update does not restart the component; the range starts at the first nucleus that sends
        // SIGTERM and waits before SIGKILL (2.15.0, aws-greengrass-nucleus#1668).
        Assert.Equal("SOFT", nucleus["DependencyType"]!.GetValue<string>());
        Assert.Equal($">={ConfigLoader.MinimumNucleus} <3.0.0", nucleus["VersionRequirement"]!.GetValue<string>());
    }

    [Fact]
    public void Render_UploadedArtifacts_ReplacesEveryUri()
    {
        var rendered = JsonNode.Parse(ComponentRecipe.Parse(TestAssets.Recipe).Render(Uploaded))!;

        var uris = rendered["Manifests"]!.AsArray().SelectMany(m => m!["Artifacts"]?.AsArray() ?? []).Select(a => a!["URI"]!.GetValue<string>()).ToList();
        Assert.Equal(["s3://assets/aaa111.zip", "s3://assets/bbb222.zip"], uris);
        Assert.Equal("ZIP", rendered["Manifests"]![0]!["Artifacts"]![0]!["Unarchive"]!.GetValue<string>());
    }

    [Fact]
    public void Render_LifecyclePaths_PointAtTheStoredArchiveFolders()
    {
        var original = JsonNode.Parse(TestAssets.Recipe)!;
        var rendered = JsonNode.Parse(ComponentRecipe.Parse(TestAssets.Recipe).Render(Uploaded))!;

        Assert.Contains("{artifacts:decompressedPath}/edgelabeling-component-linux-x64/", Run(original, 0));
        Assert.StartsWith("exec {artifacts:decompressedPath}/aaa111/edgelabeling-component ", Run(rendered, 0));
        Assert.Contains($"--ModelPath '{{artifacts:decompressedPath}}/aaa111/model/{TestAssets.ModelFile}'", Run(rendered, 0));
        Assert.DoesNotContain("edgelabeling-component-linux-x64", Run(rendered, 0));
        Assert.StartsWith("exec {artifacts:decompressedPath}/bbb222/", Run(rendered, 1));
        // Nothing but the artifact paths changed.
        Assert.Equal(Run(original, 0).Replace("edgelabeling-component-linux-x64", "aaa111", StringComparison.Ordinal), Run(rendered, 0));
    }

    [Fact]
    public void Render_InstallStep_RunsTheSelfTestAsRootFromTheStoredArchiveFolder()
    {
        var original = JsonNode.Parse(TestAssets.Recipe)!;
        var rendered = JsonNode.Parse(ComponentRecipe.Parse(TestAssets.Recipe).Render(Uploaded))!;

        var install = rendered["Manifests"]![0]!["Lifecycle"]!["Install"]!;
        Assert.True(install["RequiresPrivilege"]!.GetValue<bool>());
        // The self-test gets the Run step's arguments exactly, from the same (renamed) folder.
        Assert.Equal(
            Run(rendered, 0).Replace("/edgelabeling-component ", "/edgelabeling-component --self-test ", StringComparison.Ordinal),
            install["Script"]!.GetValue<string>());
        Assert.Contains("edgelabeling-component-linux-x64", original["Manifests"]![0]!["Lifecycle"]!["Install"]!["Script"]!.GetValue<string>());
        Assert.StartsWith("exec {artifacts:decompressedPath}/bbb222/edgelabeling-component --self-test ", rendered["Manifests"]![1]!["Lifecycle"]!["Install"]!["Script"]!.GetValue<string>());
    }

    [Fact]
    public void Parse_RunWithoutInstallStep_IsRefused()
    {
        const string json = """
            {"RecipeFormatVersion":"2020-01-25","ComponentName":"a.b","ComponentVersion":"1.0.0",
             "Manifests":[{"Lifecycle":{"Run":"{artifacts:decompressedPath}/tool/x"},"Artifacts":[{"URI":"s3://b/tool.zip","Unarchive":"ZIP"}]}]}
            """;

        var ex = Assert.Throws<ConfigurationException>(() => ComponentRecipe.Parse(json));

        Assert.Contains("Manifests[0].Lifecycle has a Run step but no Install step", ex.Message);
    }

    [Fact]
    public void Render_NameThatPrefixesAnotherFolder_ReplacesWholeSegmentsOnly()
    {
        const string json = """
            {"RecipeFormatVersion":"2020-01-25","ComponentName":"a.b","ComponentVersion":"1.0.0",
             "Manifests":[{"Lifecycle":{"Install":"true","Run":"{artifacts:decompressedPath}/tool/x {artifacts:decompressedPath}/tool-v2/y {artifacts:path}/tool.zip"},
                           "Artifacts":[{"URI":"s3://b/tool.zip","Unarchive":"ZIP"}]}]}
            """;

        var rendered = JsonNode.Parse(ComponentRecipe.Parse(json).Render(new Dictionary<string, UploadedArtifact> { ["tool.zip"] = new("s3://a/h1.zip", "h1.zip") }))!;

        Assert.Equal("{artifacts:decompressedPath}/h1/x {artifacts:decompressedPath}/tool-v2/y {artifacts:path}/h1.zip", rendered["Manifests"]![0]!["Lifecycle"]!["Run"]!.GetValue<string>());
    }

    [Fact]
    public void Render_ArtifactNotUploaded_NamesTheFile()
    {
        var partial = Uploaded.Where(p => p.Key != TestAssets.Arm64Zip).ToDictionary();

        var ex = Assert.Throws<ConfigurationException>(() => ComponentRecipe.Parse(TestAssets.Recipe).Render(partial));

        Assert.Contains($"'{TestAssets.Arm64Zip}'", ex.Message);
    }

    [Theory]
    [InlineData("\"ComponentVersion\":\"1.4.0\"", "\"ComponentVersion\":\"1.4\"", "ComponentVersion '1.4'")]
    [InlineData("\"ComponentName\":\"com.edgelabeling.Component\"", "\"ComponentName\":\"aws.greengrass.Mine\"", "aws.greengrass")]
    [InlineData("\"RecipeFormatVersion\":\"2020-01-25\"", "\"RecipeFormatVersion\":\"2021-01-01\"", "RecipeFormatVersion")]
    [InlineData("\"URI\":\"s3://", "\"URI\":\"https://", "must be an s3:// URI")]
    public void Parse_InvalidRecipe_NamesTheProblem(string from, string to, string expected)
    {
        var compact = JsonNode.Parse(TestAssets.Recipe)!.ToJsonString();
        Assert.Contains(from, compact);

        var ex = Assert.Throws<ConfigurationException>(() => ComponentRecipe.Parse(compact.Replace(from, to), "test-recipe"));

        Assert.Contains(expected, ex.Message);
        Assert.Contains("test-recipe", ex.Message);
    }

    [Fact]
    public void Parse_SameFileTwiceInOneManifest_IsRejected()
    {
        const string json = """
            {"RecipeFormatVersion":"2020-01-25","ComponentName":"a.b","ComponentVersion":"1.0.0",
             "Manifests":[{"Artifacts":[{"URI":"s3://b/one/m.onnx"},{"URI":"s3://b/two/m.onnx"}]}]}
            """;

        var ex = Assert.Throws<ConfigurationException>(() => ComponentRecipe.Parse(json));

        Assert.Contains("'m.onnx' twice", ex.Message);
    }

    [Fact]
    public void Parse_NoManifests_IsRejected()
    {
        var ex = Assert.Throws<ConfigurationException>(() => ComponentRecipe.Parse("""{"RecipeFormatVersion":"2020-01-25","ComponentName":"a.b","ComponentVersion":"1.0.0"}"""));

        Assert.Contains("Manifests must be a non-empty list", ex.Message);
    }

    [Fact]
    public void Parse_NotJson_SaysSo()
    {
        var ex = Assert.Throws<ConfigurationException>(() => ComponentRecipe.Parse("RecipeFormatVersion: 2020-01-25", "recipe.yaml"));

        Assert.Contains("recipe.yaml: not valid JSON", ex.Message);
    }
}
