using System.Text.Json.Nodes;
using Amazon.CDK;
using Amazon.CDK.Assertions;
using EdgeLabeling.Infra.Configuration;

namespace EdgeLabeling.Infra.Tests;

/// <summary>
/// Synthesizes the real cdk.json environments once per test run (jsii start-up and synthesis are the
/// slow part) and shares the templates with every test class in the "synth" collection.
/// </summary>
public sealed class SynthFixture : IDisposable
{
    public static readonly string[] EnvironmentNames = ["dev", "prod"];

    private readonly TestAssets assets = new();

    public SynthFixture()
    {
        System.Environment.SetEnvironmentVariable("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1");
        foreach (var env in EnvironmentNames)
        {
            Environments[env] = SynthesizedEnvironment.Create(env, assets, overrides: null);
        }
    }

    public Dictionary<string, SynthesizedEnvironment> Environments { get; } = new(StringComparer.Ordinal);

    internal TestAssets Assets => assets;

    /// <summary>Every template of every environment, by stack name.</summary>
    public IEnumerable<(string Stack, JsonObject Template)> AllTemplates =>
        Environments.Values.SelectMany(e => e.RawTemplates.Select(p => (p.Key, p.Value)));

    public void Dispose() => assets.Dispose();
}

/// <summary>One environment synthesized through the same path as Program.cs.</summary>
public sealed class SynthesizedEnvironment
{
    private SynthesizedEnvironment(EnvironmentConfig config, EdgeLabelingStacks stacks, Dictionary<string, JsonObject> raw, string outdir)
    {
        Outdir = outdir;
        Config = config;
        Stacks = stacks;
        RawTemplates = raw;
        Storage = Template.FromStack(stacks.Storage);
        Labeling = Template.FromStack(stacks.Labeling);
        EdgeFleet = Template.FromStack(stacks.EdgeFleet);
    }

    public EnvironmentConfig Config { get; }

    /// <summary>The cloud assembly folder (templates and staged assets).</summary>
    public string Outdir { get; }

    public EdgeLabelingStacks Stacks { get; }

    public Template Storage { get; }

    public Template Labeling { get; }

    public Template EdgeFleet { get; }

    /// <summary>The synthesized *.template.json files, parsed, by stack name.</summary>
    public Dictionary<string, JsonObject> RawTemplates { get; }

    /// <summary>Synthesizes <paramref name="env"/> from the repository's cdk.json, with optional context edits.</summary>
    internal static SynthesizedEnvironment Create(string env, TestAssets assets, Action<JsonObject>? overrides)
    {
        var context = (JsonObject)JsonNode.Parse(File.ReadAllText(RepoPaths.CdkJson))!["context"]!.DeepClone();
        context[ConfigLoader.EnvironmentKey] = env;
        context[AssetPaths.LambdaKey] = assets.LambdaDirectory;
        context[AssetPaths.ReviewPageKey] = assets.ReviewPageDirectory;
        // The parent folder: exercises the artifacts/component/<version>/ lookup.
        context[AssetPaths.ComponentKey] = Path.GetDirectoryName(assets.ComponentDirectory);
        overrides?.Invoke(context);

        var outdir = Path.Combine(assets.Root, "cdk.out-" + env + "-" + Guid.NewGuid().ToString("N")[..8]);
        var app = new App(new AppProps { Context = ToContext(context), Outdir = outdir });
        var config = EdgeLabelingApp.ReadConfig(app);
        var stacks = EdgeLabelingApp.Build(app, config, EdgeLabelingApp.ReadAssetPaths(app));
        app.Synth();

        var raw = Directory.EnumerateFiles(outdir, "*.template.json")
            .ToDictionary(f => Path.GetFileName(f)[..^".template.json".Length], f => (JsonObject)JsonNode.Parse(File.ReadAllText(f))!, StringComparer.Ordinal);
        return new SynthesizedEnvironment(config, stacks, raw, outdir);
    }

    // jsii marshals plain dictionaries, arrays and primitives into the context's JSON.
    private static Dictionary<string, object> ToContext(JsonObject obj) =>
        obj.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => ToPlain(p.Value!), StringComparer.Ordinal);

    private static object ToPlain(JsonNode node) => node switch
    {
        JsonObject o => ToContext(o),
        JsonArray a => a.Where(n => n is not null).Select(n => ToPlain(n!)).ToArray(),
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v => v.GetValue<double>(),
        _ => throw new InvalidOperationException($"unexpected JSON node {node}"),
    };
}

[CollectionDefinition(Name)]
public sealed class SynthCollection : ICollectionFixture<SynthFixture>
{
    public const string Name = "synth";
}
