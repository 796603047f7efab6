using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EdgeLabeling.Infra.Configuration;

namespace EdgeLabeling.Infra.Edge;

/// <summary>Where one recipe artifact ended up after CDK uploaded it as an asset.</summary>
/// <param name="S3Uri">The <c>s3://bucket/key</c> of the uploaded file (may contain CDK tokens).</param>
/// <param name="StoredFileName">The object's file name (the key's last segment), e.g. <c>3f2a….zip</c>.</param>
public sealed record UploadedArtifact(string S3Uri, string StoredFileName);

/// <summary>
/// A Greengrass recipe (JSON) as produced by scripts/package-component.sh, and its rendering into the
/// inline recipe of a <c>CfnComponentVersion</c>. Artifacts are named by file name in the recipe and
/// get the URIs they were uploaded to (EdgeFleetStack: <c>components/&lt;name&gt;/&lt;version&gt;/&lt;file&gt;</c>,
/// file names kept). Greengrass names an artifact's folder after the object name, so when a store renames
/// the object, lifecycle paths that mention the artifact's file name are rewritten to the stored name as well.
/// </summary>
public sealed partial class ComponentRecipe
{
    private static readonly JsonSerializerOptions Output = new()
    {
        // Keep '+', '<', '&' and quotes in lifecycle scripts readable; the recipe is not embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly JsonObject root;

    private ComponentRecipe(JsonObject root, string name, string version, IReadOnlyList<string> artifactFileNames, JsonObject defaultConfiguration)
    {
        this.root = root;
        Name = name;
        Version = version;
        ArtifactFileNames = artifactFileNames;
        DefaultConfiguration = defaultConfiguration;
    }

    /// <summary>ComponentName of the recipe.</summary>
    public string Name { get; }

    /// <summary>ComponentVersion of the recipe.</summary>
    public string Version { get; }

    /// <summary>Distinct file names of every artifact of every manifest.</summary>
    public IReadOnlyList<string> ArtifactFileNames { get; }

    /// <summary>ComponentConfiguration.DefaultConfiguration (empty when absent).</summary>
    public JsonObject DefaultConfiguration { get; }

    [GeneratedRegex("^[a-zA-Z0-9-_.]{1,128}$")]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[0-9]{1,6}\\.[0-9]{1,6}\\.[0-9]{1,6}$")]
    private static partial Regex VersionRegex();

    /// <summary>Reads and validates a recipe file.</summary>
    public static ComponentRecipe Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigurationException($"component recipe '{path}' does not exist; run scripts/package-component.sh (scripts/synth.sh does) or pass -c componentDir=<folder>");
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates recipe JSON. <paramref name="source"/> names it in errors.</summary>
    public static ComponentRecipe Parse(string json, string source = "recipe")
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new ConfigurationException($"{source}: the recipe must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new ConfigurationException($"{source}: not valid JSON: {ex.Message}", ex);
        }

        string Required(string key) =>
            root[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0
                ? s
                : throw new ConfigurationException($"{source}: {key} is missing or not a string");

        if (Required("RecipeFormatVersion") != "2020-01-25")
        {
            throw new ConfigurationException($"{source}: RecipeFormatVersion must be \"2020-01-25\"");
        }

        var name = Required("ComponentName");
        if (!NameRegex().IsMatch(name) || name.StartsWith("aws.greengrass", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigurationException($"{source}: ComponentName '{name}' must be 1-128 of [a-zA-Z0-9-_.] and not start with aws.greengrass");
        }

        var version = Required("ComponentVersion");
        if (!VersionRegex().IsMatch(version))
        {
            throw new ConfigurationException($"{source}: ComponentVersion '{version}' must be major.minor.patch");
        }

        if (root["Manifests"] is not JsonArray manifests || manifests.Count == 0)
        {
            throw new ConfigurationException($"{source}: Manifests must be a non-empty list");
        }

        var files = new List<string>();
        for (var i = 0; i < manifests.Count; i++)
        {
            if (manifests[i] is not JsonObject manifest)
            {
                throw new ConfigurationException($"{source}: Manifests[{i}] must be an object");
            }

            if (manifest["Lifecycle"] is JsonObject lifecycle && HasStep(lifecycle, "Run") && !HasStep(lifecycle, "Install"))
            {
                // The nucleus reports a deployment successful once Run has started; only an Install step that
                // fails (the component's --self-test) fails the deployment and rolls it back.
                throw new ConfigurationException($"{source}: Manifests[{i}].Lifecycle has a Run step but no Install step; a component that cannot work on a device would still be reported deployed");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (artifact, j) in Artifacts(manifest).Select((a, j) => (a, j)))
            {
                var uri = artifact["URI"] is JsonValue u && u.TryGetValue<string>(out var s) ? s : null;
                if (string.IsNullOrEmpty(uri) || !uri.StartsWith("s3://", StringComparison.Ordinal))
                {
                    throw new ConfigurationException($"{source}: Manifests[{i}].Artifacts[{j}].URI must be an s3:// URI");
                }

                var file = FileName(uri);
                if (!seen.Add(file))
                {
                    throw new ConfigurationException($"{source}: Manifests[{i}] names artifact file '{file}' twice (Greengrass needs unique file names)");
                }

                if (!files.Contains(file))
                {
                    files.Add(file);
                }
            }
        }

        var defaults = root["ComponentConfiguration"]?["DefaultConfiguration"] as JsonObject ?? [];
        return new ComponentRecipe(root, name, version, files, (JsonObject)defaults.DeepClone());
    }

    /// <summary>
    /// The recipe with every artifact URI replaced by its uploaded location and every lifecycle path
    /// that names the artifact rewritten to the stored file name. Throws when an artifact was not uploaded.
    /// </summary>
    public string Render(IReadOnlyDictionary<string, UploadedArtifact> uploaded)
    {
        var copy = (JsonObject)root.DeepClone();
        foreach (var file in ArtifactFileNames)
        {
            if (!uploaded.ContainsKey(file))
            {
                throw new ConfigurationException($"recipe artifact '{file}' of {Name} {Version} has no uploaded file; is it in the component folder?");
            }
        }

        foreach (var manifest in ((JsonArray)copy["Manifests"]!).OfType<JsonObject>())
        {
            foreach (var artifact in Artifacts(manifest))
            {
                var file = FileName(artifact["URI"]!.GetValue<string>());
                artifact["URI"] = uploaded[file].S3Uri;
            }

            if (manifest["Lifecycle"] is { } lifecycle)
            {
                manifest["Lifecycle"] = RewritePaths(lifecycle, uploaded);
            }
        }

        if (copy["Lifecycle"] is { } global)
        {
            copy["Lifecycle"] = RewritePaths(global, uploaded);
        }

        return copy.ToJsonString(Output);
    }

    /// <summary>The last path segment of an artifact URI.</summary>
    public static string FileName(string uri)
    {
        var slash = uri.LastIndexOf('/');
        var name = slash < 0 ? uri : uri[(slash + 1)..];
        if (name.Length == 0)
        {
            throw new ConfigurationException($"artifact URI '{uri}' ends with '/' and names no file");
        }

        return name;
    }

    // Replaces whole path segments only: "model" must not turn "model-v2/..." into "<hash>-v2/...".
    private static string ReplacePath(string text, string from, string to) =>
        Regex.Replace(text, Regex.Escape(from) + "(?![A-Za-z0-9._-])", to.Replace("$", "$$", StringComparison.Ordinal), RegexOptions.CultureInvariant);

    // The nucleus matches lifecycle keys case-insensitively.
    private static bool HasStep(JsonObject lifecycle, string step) =>
        lifecycle.Any(kv => string.Equals(kv.Key, step, StringComparison.OrdinalIgnoreCase) && kv.Value is not null);

    private static IEnumerable<JsonObject> Artifacts(JsonObject manifest) =>
        manifest["Artifacts"] is JsonArray list ? list.OfType<JsonObject>() : [];

    private static JsonNode RewritePaths(JsonNode node, IReadOnlyDictionary<string, UploadedArtifact> uploaded)
    {
        switch (node)
        {
            case JsonObject obj:
                var result = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    result[key] = value is null ? null : RewritePaths(value, uploaded);
                }

                return result;
            case JsonArray array:
                return new JsonArray(array.Select(n => n is null ? null : RewritePaths(n, uploaded)).ToArray());
            case JsonValue value when value.TryGetValue<string>(out var text):
                foreach (var (file, stored) in uploaded)
                {
                    text = ReplacePath(text, "{artifacts:path}/" + file, "{artifacts:path}/" + stored.StoredFileName);
                    // A ZIP artifact unpacks into a folder named after the object minus its extension.
                    text = ReplacePath(text, "{artifacts:decompressedPath}/" + Path.GetFileNameWithoutExtension(file),
                        "{artifacts:decompressedPath}/" + Path.GetFileNameWithoutExtension(stored.StoredFileName));
                }

                return JsonValue.Create(text);
            default:
                return node.DeepClone();
        }
    }
}
