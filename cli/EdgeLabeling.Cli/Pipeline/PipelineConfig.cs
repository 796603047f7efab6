using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Simulation;

namespace EdgeLabeling.Cli.Pipeline;

/// <summary>
/// The optional <c>--config FILE</c> of <c>edgelabel pipeline</c>, one JSON object with four optional sections:
/// <list type="bullet">
/// <item><c>routing</c>: a routing config as <c>edgelabel label --config</c> and <c>calibrate</c>'s snippet use it
/// (<c>autoAcceptThreshold</c>, <c>uncertainLow</c>, <c>classThresholds</c>, <c>auditRate</c>...);</item>
/// <item><c>edge</c>: edge component options by name (<c>InferenceThreads</c>, <c>UploadMaxSide</c>...);</item>
/// <item><c>cloud</c>: the labeling Lambdas' environment variables (<c>BATCH_MIN_ITEMS</c>, <c>MONTHLY_BUDGET_USD</c>...);</item>
/// <item><c>workforce</c>: noise of the simulated labelers (<c>boxJitterPixels</c>, <c>missRate</c>,
/// <c>wrongClassRate</c>, <c>expiredFraction</c>).</item>
/// </list>
/// </summary>
internal sealed record PipelineConfig
{
    public JsonObject? Routing { get; init; }
    public IReadOnlyDictionary<string, string> Edge { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Cloud { get; init; } = new Dictionary<string, string>();
    public JsonObject? Workforce { get; init; }

    private static readonly string[] Sections = ["routing", "edge", "cloud", "workforce"];

    public static PipelineConfig Load(string? path)
    {
        if (path is null)
        {
            return new PipelineConfig();
        }

        if (!File.Exists(path))
        {
            throw new PipelineInputException($"config file '{path}' does not exist");
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new PipelineInputException($"config file '{path}' is not valid JSON: {ex.Message}");
        }

        if (root is not JsonObject obj)
        {
            throw new PipelineInputException($"config file '{path}' must be a JSON object with optional sections {string.Join(", ", Sections)}");
        }

        foreach (var (key, _) in obj)
        {
            if (!Sections.Contains(key, StringComparer.Ordinal))
            {
                throw new PipelineInputException($"config file '{path}': unknown section '{key}' (expected {string.Join(", ", Sections)})");
            }
        }

        return new PipelineConfig
        {
            Routing = Section(obj, "routing", path),
            Edge = Flat(Section(obj, "edge", path), "edge", path),
            Cloud = Flat(Section(obj, "cloud", path), "cloud", path),
            Workforce = Section(obj, "workforce", path),
        };
    }

    /// <summary>Simulated labelers: a little jitter, rare misses and mix-ups, and a few expired tasks so the return-to-pending path runs.</summary>
    public WorkforceOptions BuildWorkforce(int seed)
    {
        var w = new WorkforceOptions
        {
            Seed = seed,
            BoxJitterPixels = Number("boxJitterPixels", 1.5),
            MissRate = Number("missRate", 0.02),
            WrongClassRate = Number("wrongClassRate", 0.01),
            ExpiredFraction = Number("expiredFraction", 0.05),
        };
        try
        {
            w.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new PipelineInputException($"config workforce: {ex.Message}");
        }

        return w;
    }

    private double Number(string name, double fallback)
    {
        if (Workforce?[name] is not { } node)
        {
            return fallback;
        }

        return node is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d)
            ? d
            : throw new PipelineInputException($"config workforce.{name}: '{node.ToJsonString()}' is not a number");
    }

    private static JsonObject? Section(JsonObject root, string name, string path) => root[name] switch
    {
        null => null,
        JsonObject o => o,
        var other => throw new PipelineInputException($"config file '{path}': section '{name}' must be an object, not {other.GetValueKind().ToString().ToLowerInvariant()}"),
    };

    private static Dictionary<string, string> Flat(JsonObject? section, string name, string path)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in section ?? [])
        {
            d[key] = value switch
            {
                JsonValue v when v.TryGetValue(out string? s) => s,
                JsonValue v when v.TryGetValue(out bool b) => b ? "true" : "false",
                JsonValue v when v.TryGetValue(out double n) => n.ToString("R", CultureInfo.InvariantCulture),
                _ => throw new PipelineInputException($"config file '{path}': {name}.{key} must be a string, number or boolean"),
            };
        }

        return d;
    }
}
