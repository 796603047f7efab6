using System.Text.Json.Nodes;
using Amazon.CDK;
using EdgeLabeling.Infra.Configuration;
using EdgeLabeling.Infra.Stacks;

namespace EdgeLabeling.Infra;

/// <summary>Build inputs that are paths on the synthesizing machine rather than environment settings.</summary>
public sealed record AssetPaths
{
    /// <summary>Context key of the Lambda publish folder.</summary>
    public const string LambdaKey = "lambdaAssetPath";

    /// <summary>Context key of the component folder (or the folder holding one subfolder per version).</summary>
    public const string ComponentKey = "componentDir";

    /// <summary>Context key of the built review page (review-app/dist).</summary>
    public const string ReviewPageKey = "reviewPagePath";

    /// <summary>Folder with the built review page (<c>npm run build:review</c>); used with labeling.backend builtin.</summary>
    public string ReviewPage { get; init; } = "";

    /// <summary>Folder with the <c>dotnet publish</c> output of lambdas/EdgeLabeling.Lambdas.</summary>
    public required string LambdaCode { get; init; }

    /// <summary>Folder with recipe.json and the component artifacts.</summary>
    public required string ComponentDirectory { get; init; }

    /// <summary>
    /// Resolves the component folder: <paramref name="path"/> itself when it holds a recipe, otherwise
    /// its subfolder with the highest version (artifacts/component/&lt;version&gt;/ layout).
    /// </summary>
    public static string ResolveComponentDirectory(string path)
    {
        if (File.Exists(Path.Combine(path, EdgeFleetStack.RecipeFileName)))
        {
            return path;
        }

        if (!Directory.Exists(path))
        {
            throw new ConfigurationException($"component folder '{path}' does not exist; run scripts/package-component.sh (scripts/synth.sh does) or pass -c {ComponentKey}=<folder>");
        }

        var best = Directory.EnumerateDirectories(path)
            .Select(d => (dir: d, ok: Version.TryParse(Path.GetFileName(d), out var v), version: v))
            .Where(x => x.ok && File.Exists(Path.Combine(x.dir, EdgeFleetStack.RecipeFileName)))
            .OrderByDescending(x => x.version)
            .FirstOrDefault();
        return best.dir ?? throw new ConfigurationException($"component folder '{path}' has no recipe.json and no <version>/recipe.json subfolder");
    }
}

/// <summary>The three stacks of one environment, wired together.</summary>
public sealed record EdgeLabelingStacks(StorageStack Storage, LabelingStack Labeling, EdgeFleetStack EdgeFleet);

/// <summary>Composes the stacks of one environment; used by Program.cs and by the tests.</summary>
public static class EdgeLabelingApp
{
    /// <summary>Reads <c>env</c> and <c>environments</c> from the app's context and validates them.</summary>
    public static EnvironmentConfig ReadConfig(App app)
    {
        var envName = ConfigLoader.ToJsonNode(app.Node.TryGetContext(ConfigLoader.EnvironmentKey))?.ToString();
        var environments = ConfigLoader.ToJsonNode(app.Node.TryGetContext(ConfigLoader.EnvironmentsKey)) as JsonObject;
        return ConfigLoader.Select(envName, environments);
    }

    /// <summary>Reads the asset folders from context, relative to the working directory (the repo root for cdk).</summary>
    public static AssetPaths ReadAssetPaths(App app)
    {
        string Get(string key, string fallback) =>
            ConfigLoader.ToJsonNode(app.Node.TryGetContext(key))?.ToString() is { Length: > 0 } value ? value : fallback;

        return new AssetPaths
        {
            LambdaCode = Path.GetFullPath(Get(AssetPaths.LambdaKey, "artifacts/lambdas")),
            ComponentDirectory = AssetPaths.ResolveComponentDirectory(Path.GetFullPath(Get(AssetPaths.ComponentKey, "artifacts/component"))),
            ReviewPage = Path.GetFullPath(Get(AssetPaths.ReviewPageKey, "review-app/dist")),
        };
    }

    /// <summary>Adds the storage, labeling and edge-fleet stacks of <paramref name="config"/> to <paramref name="app"/>.</summary>
    public static EdgeLabelingStacks Build(App app, EnvironmentConfig config, AssetPaths paths)
    {
        IStackProps StackProps(string what) => new StackProps
        {
            Env = new Amazon.CDK.Environment { Account = config.Account, Region = config.Region },
            TerminationProtection = config.TerminationProtection,
            Description = $"EdgeLabeling {config.Name}: {what}",
            Tags = new Dictionary<string, string> { ["project"] = "EdgeLabeling", ["environment"] = config.Name },
        };

        var prefix = $"EdgeLabeling-{config.Name}";
        var storage = new StorageStack(app, $"{prefix}-Storage", new StorageStackProps
        {
            Config = config,
            StackProps = StackProps("stateful storage (buckets, key, pending-item table)"),
        });
        var labeling = new LabelingStack(app, $"{prefix}-Labeling", new LabelingStackProps
        {
            Config = config,
            StackProps = StackProps("labeling compute (ingest, batcher, merge, alarms)"),
            IncomingBucket = storage.IncomingBucket,
            LabelingDataBucket = storage.LabelingDataBucket,
            DataKey = storage.DataKey,
            PendingItemsTable = storage.PendingItemsTable,
            ReviewTasksTable = storage.ReviewTasksTable,
            LambdaCodePath = paths.LambdaCode,
            ReviewPagePath = paths.ReviewPage,
        });
        var edge = new EdgeFleetStack(app, $"{prefix}-EdgeFleet", new EdgeFleetStackProps
        {
            Config = config,
            StackProps = StackProps("Greengrass component, token exchange role and fleet deployments"),
            IncomingBucket = storage.IncomingBucket,
            DataKey = storage.DataKey,
            ArtifactBucket = storage.ComponentArtifactsBucket,
            ComponentDirectory = paths.ComponentDirectory,
        });
        return new EdgeLabelingStacks(storage, labeling, edge);
    }
}
