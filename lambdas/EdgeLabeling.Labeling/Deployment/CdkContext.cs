using System.Text.Json.Nodes;

namespace EdgeLabeling.Labeling.Deployment;

/// <summary>The deployment's cdk.json as the run-time tools read it: one environment of <c>context.environments</c>.</summary>
public static class CdkContext
{
    /// <summary>Parses a cdk.json file. Throws <see cref="FormatException"/> when it is not a JSON object.</summary>
    public static JsonObject Load(string cdkPath) =>
        JsonNode.Parse(File.ReadAllText(cdkPath)) as JsonObject ?? throw new FormatException($"{cdkPath} is not a JSON object");

    /// <summary>Reads <c>context.environments.&lt;env&gt;</c> of a parsed cdk.json, naming what is missing.</summary>
    public static JsonObject Environment(JsonObject cdk, string env, string cdkPath)
    {
        ArgumentNullException.ThrowIfNull(cdk);
        var environments = cdk["context"]?["environments"] as JsonObject ?? throw new FormatException($"{cdkPath} has no context.environments");
        return environments[env] as JsonObject
            ?? throw new ArgumentException($"environment '{env}' is not in {cdkPath} (known: {string.Join(", ", environments.Select(e => e.Key))})");
    }
}
