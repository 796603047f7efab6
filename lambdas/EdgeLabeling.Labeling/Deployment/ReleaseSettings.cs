using System.IO.Compression;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EdgeLabeling.Labeling.Deployment;

/// <summary>The routing a release ships: global band and per-class auto-accept thresholds, keyed by the new model's class names.</summary>
public sealed record ReleaseRouting(double AutoAcceptThreshold, double UncertainLow, IReadOnlyDictionary<string, double> ClassThresholds, double TargetPrecision);

/// <summary>
/// Versions, the previous release and the cdk.json settings of a canary-first release (docs/deploy.md §7): the new
/// component version goes to the canary group only, the fleet stays pinned at the previous version.
/// </summary>
public static partial class ReleaseSettings
{
    [GeneratedRegex(@"^[0-9]{1,6}\.[0-9]{1,6}\.[0-9]{1,6}$")]
    private static partial Regex SemverRegex();

    /// <summary>Parses major.minor.patch (each 0-999999, what scripts/package-component.sh and the stack accept).</summary>
    public static Version ParseVersion(string text, string what) =>
        SemverRegex().IsMatch(text) ? Version.Parse(text)
        : throw new ArgumentException($"{what} '{text}' must be major.minor.patch (e.g. 1.3.0), each part 0-999999");

    /// <summary>The highest packaged version below <paramref name="next"/> under <paramref name="componentDir"/> (folders VERSION/recipe.json).</summary>
    public static string? PreviousVersion(string componentDir, Version next) =>
        !Directory.Exists(componentDir) ? null
        : Directory.EnumerateDirectories(componentDir)
            .Select(d => Path.GetFileName(d))
            .Where(n => SemverRegex().IsMatch(n) && File.Exists(Path.Combine(componentDir, n, "recipe.json")))
            .Select(n => Version.Parse(n))
            .Where(v => v < next)
            .OrderDescending()
            .Select(v => v.ToString(3))
            .FirstOrDefault();

    /// <summary>
    /// Extracts the model the previous version shipped (model/*.onnx of its first component archive) to
    /// <paramref name="destinationDir"/>. Throws <see cref="ArgumentException"/> naming the folder when there is none.
    /// </summary>
    public static string ExtractPackagedModel(string versionDir, string destinationDir)
    {
        var archive = Directory.Exists(versionDir)
            ? Directory.EnumerateFiles(versionDir, "edgelabeling-component-*.zip").Order(StringComparer.Ordinal).FirstOrDefault()
            : null;
        if (archive is null)
        {
            throw new ArgumentException($"no component archive in {versionDir} to take the current model from; pass --current-model");
        }

        using var zip = ZipFile.OpenRead(archive);
        var entry = zip.Entries.Where(e => e.FullName.StartsWith("model/", StringComparison.Ordinal) && e.FullName.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            .OrderBy(e => e.FullName, StringComparer.Ordinal).FirstOrDefault()
            ?? throw new ArgumentException($"{archive} holds no model/*.onnx; pass --current-model");
        Directory.CreateDirectory(destinationDir);
        var path = Path.Combine(destinationDir, Path.GetFileName(entry.FullName));
        entry.ExtractToFile(path, overwrite: true);
        return path;
    }

    /// <summary>
    /// A release needs a canary group: without one, the only deployment is the fleet's and "hold the fleet" has no meaning.
    /// </summary>
    public static void RequireCanary(JsonObject environment, string env)
    {
        if (environment["fleet"]?["canaryThingGroupArn"] is not JsonValue arn || !arn.TryGetValue<string>(out var text) || text.Length == 0)
        {
            throw new ArgumentException($"environments.{env}.fleet.canaryThingGroupArn is not set: a model release goes to a canary thing group first while the fleet stays on the previous version; add the canary group (docs/deploy.md §7)");
        }
    }

    /// <summary>
    /// Writes the release into the environment: the new routing (global and per class), <c>fleet.fleetComponentVersion</c>
    /// held at <paramref name="previousVersion"/>, the fleet's current routing kept as <c>fleet.fleetRouting</c> (the fleet
    /// keeps running the previous model, whose thresholds the new ones would not fit), and the top-level
    /// <c>componentDir</c> pointing at the new version's folder. Returns the fragment that was written.
    /// </summary>
    public static JsonObject Apply(JsonObject cdk, string env, string cdkPath, ReleaseRouting routing, string previousVersion, string componentVersionDir)
    {
        var environment = CdkContext.Environment(cdk, env, cdkPath);
        RequireCanary(environment, env);
        var fleet = (JsonObject)environment["fleet"]!;
        var oldRouting = environment["routing"] as JsonObject ?? throw new FormatException($"environments.{env}.routing is missing in {cdkPath}");

        // Re-running a release (the fleet already pinned at this previous version) must not overwrite the kept routing with the new one.
        var alreadyHeld = fleet["fleetComponentVersion"] is JsonValue held && held.TryGetValue<string>(out var heldVersion) && heldVersion == previousVersion
            && fleet["fleetRouting"] is JsonObject;
        if (!alreadyHeld)
        {
            var kept = new JsonObject
            {
                ["autoAcceptThreshold"] = oldRouting["autoAcceptThreshold"]?.DeepClone(),
                ["uncertainLow"] = oldRouting["uncertainLow"]?.DeepClone(),
                ["classThresholds"] = oldRouting["classThresholds"]?.DeepClone() ?? new JsonObject(),
            };
            fleet["fleetRouting"] = kept;
        }

        var perClass = new JsonObject();
        foreach (var (name, threshold) in routing.ClassThresholds.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            perClass[name] = Math.Round(threshold, 4);
        }

        oldRouting["autoAcceptThreshold"] = Math.Round(routing.AutoAcceptThreshold, 4);
        oldRouting["uncertainLow"] = Math.Round(routing.UncertainLow, 4);
        oldRouting["targetPrecision"] = routing.TargetPrecision;
        oldRouting["classThresholds"] = perClass;
        fleet["fleetComponentVersion"] = previousVersion;
        ((JsonObject)cdk["context"]!)["componentDir"] = componentVersionDir;

        return new JsonObject
        {
            ["componentDir"] = componentVersionDir,
            ["environments"] = new JsonObject
            {
                [env] = new JsonObject
                {
                    ["routing"] = oldRouting.DeepClone(),
                    ["fleet"] = new JsonObject
                    {
                        ["fleetComponentVersion"] = previousVersion,
                        ["fleetRouting"] = fleet["fleetRouting"]!.DeepClone(),
                    },
                },
            },
        };
    }
}
