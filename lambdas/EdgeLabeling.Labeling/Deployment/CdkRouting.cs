using System.Text.Json.Nodes;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Quality;

namespace EdgeLabeling.Labeling.Deployment;

/// <summary>The routing one cdk.json environment deploys, with what retune and promote need beside it.</summary>
/// <param name="Routing">Today's thresholds and audit rate (<c>routing</c>).</param>
/// <param name="TargetPrecision"><c>routing.targetPrecision</c>, null when it is not set.</param>
/// <param name="Budget">The prices of the environment's labeling backend: the built-in backend's free tiers, else Ground Truth's.</param>
public sealed record DeployedRouting(RoutingSettings Routing, double? TargetPrecision, BudgetPolicy Budget);

/// <summary>Reads the routing of a cdk.json environment and writes a recommended one back as a fragment.</summary>
public static class CdkRouting
{
    /// <summary>
    /// Today's routing of <paramref name="env"/> in the cdk.json at <paramref name="cdkPath"/>. Throws
    /// <see cref="FormatException"/> naming the setting that is missing, not a number, or one the router would refuse,
    /// and <see cref="ArgumentException"/> for an unknown environment.
    /// </summary>
    public static DeployedRouting Read(string cdkPath, string env)
    {
        var environment = CdkContext.Environment(CdkContext.Load(cdkPath), env, cdkPath);
        var routing = environment["routing"] as JsonObject ?? throw new FormatException($"environments.{env}.routing is missing");
        double Number(string name) => routing[name] is JsonValue v && v.TryGetValue<double>(out var d) ? d : throw new FormatException($"environments.{env}.routing.{name} is missing or not a number");
        var perClass = new Dictionary<string, double>(StringComparer.Ordinal);
        if (routing["classThresholds"] is JsonObject classes)
        {
            foreach (var (name, value) in classes)
            {
                perClass[name] = value is JsonValue v && v.TryGetValue<double>(out var d) ? d : throw new FormatException($"environments.{env}.routing.classThresholds.{name} is not a number");
            }
        }

        var settings = new RoutingSettings { AutoAcceptThreshold = Number("autoAcceptThreshold"), UncertainLow = Number("uncertainLow"), AuditRate = Number("auditRate"), ClassThresholds = perClass };
        // Today's routing is what the fleet runs: one the router would refuse cannot be the base of a recommendation.
        if (settings.Thresholds.Problems($"environments.{env}.routing.") is { Count: > 0 } problems)
        {
            throw new FormatException(string.Join("; ", problems));
        }

        double? target = routing["targetPrecision"] is JsonValue t && t.TryGetValue<double>(out var tp) ? tp : null;
        var builtIn = environment["labeling"]?["backend"]?.GetValue<string>() == LabelingBackends.BuiltIn;
        return new DeployedRouting(settings, target, builtIn ? new BudgetPolicy { Tiers = LabelingBackends.FreeTiers } : new BudgetPolicy());
    }

    /// <summary>The cdk.json routing section with the recommendation (to paste over <c>context.environments.&lt;env&gt;.routing</c>).</summary>
    public static JsonObject Fragment(RetuneResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var perClass = new JsonObject();
        foreach (var (name, threshold) in result.Recommended.ClassThresholds.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            perClass[name] = threshold;
        }

        return new JsonObject
        {
            ["routing"] = new JsonObject
            {
                ["autoAcceptThreshold"] = result.Recommended.AutoAcceptThreshold,
                ["uncertainLow"] = result.Recommended.UncertainLow,
                ["auditRate"] = result.Recommended.AuditRate,
                ["targetPrecision"] = result.Options.TargetPrecision,
                ["classThresholds"] = perClass,
            },
        };
    }
}
