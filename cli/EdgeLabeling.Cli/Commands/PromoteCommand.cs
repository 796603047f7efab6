using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Quality;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel promote --dataset DIR|index.json|s3://bucket --canary-model SHA [--fleet-model SHA] [--window-days N] [--json]</c>:
/// the promotion step of a canary release (docs/deploy.md §7). Compares the production precision of the canary model's
/// automatic labels with the fleet model's (audits in the dataset index, Wilson intervals) and says "promote" or "hold"
/// with the numbers. Exit codes: 0 promote, 5 hold, 1 the store failed, 2 bad input, 3 no audits in the window.
/// </summary>
internal static class PromoteCommand
{
    public const int Hold = 5;

    public static Command Create()
    {
        var dataset = new Option<string>("--dataset", "-d") { Description = "The merged dataset: a local object store folder (as the pipeline writes), a dataset index.json, or s3://<data bucket>.", Required = true };
        var canary = new Option<string>("--canary-model") { Description = "SHA-256 (at least 8 hex digits) of the model the canary group runs (release-model prints it).", Required = true };
        var fleet = new Option<string?>("--fleet-model") { Description = "SHA-256 prefix of the fleet's model; default: the other model with the most audited boxes in the window." };
        var window = new Option<int>("--window-days") { Description = "Days of capture time to use, ending with --today.", DefaultValueFactory = _ => 7 };
        var today = new Option<string?>("--today") { Description = "Last day of the window (yyyy-MM-dd, UTC); default today." };
        var minBoxes = new Option<int>("--min-boxes") { Description = "Audited boxes a model (or a class of it) needs before it is judged.", DefaultValueFactory = _ => 50 };
        var target = new Option<double?>("--target-precision") { Description = "Precision the canary's lower bound must meet; default routing.targetPrecision of --env in cdk.json." };
        var z = new Option<double>("--confidence-z") { Description = "z of the Wilson intervals (1.96 = 95 %).", DefaultValueFactory = _ => Evaluation.WilsonInterval.Z95 };
        var cdkJson = new Option<FileInfo>("--cdk-json") { Description = "cdk.json holding routing.targetPrecision.", DefaultValueFactory = _ => new FileInfo("cdk.json") };
        var env = new Option<string>("--env") { Description = "Environment of cdk.json.", DefaultValueFactory = _ => "dev" };
        var attribute = new Option<string>("--label-attribute") { Description = "The dataset's label attribute.", DefaultValueFactory = _ => "parts" };
        var dataBucket = new Option<string>("--data-bucket") { Description = "Bucket inside a local store folder that holds dataset/.", DefaultValueFactory = _ => new LabelingOptions().DataBucket };
        var s3Endpoint = new Option<string?>("--s3-endpoint") { Description = "S3-compatible endpoint for an s3:// dataset." };
        var json = new Option<bool>("--json") { Description = "Print the verdict as JSON on stdout." };
        var command = new Command("promote", "Say whether a canary model's automatic labels are at least as good as the fleet's (promote) or not yet (hold), with the numbers and Wilson intervals.")
        {
            dataset, canary, fleet, window, today, minBoxes, target, z, cdkJson, env, attribute, dataBucket, s3Endpoint, json,
        };
        command.SetAction((p, ct) => RunAsync(p.GetValue(dataset)!, p.GetValue(canary)!, p.GetValue(fleet), p.GetValue(window), p.GetValue(today), p.GetValue(minBoxes), p.GetValue(target),
            p.GetValue(z), p.GetValue(cdkJson)!, p.GetValue(env)!, p.GetValue(attribute)!, p.GetValue(dataBucket)!, p.GetValue(s3Endpoint), p.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(string dataset, string canaryPrefix, string? fleetPrefix, int windowDays, string? todayText, int minBoxes, double? target, double z,
        FileInfo cdkJson, string env, string attribute, string dataBucket, string? s3Endpoint, bool json, CancellationToken ct)
    {
        const string Name = "promote";
        ProductionPrecisionOptions options;
        DateOnly today;
        try
        {
            var targetPrecision = target ?? (cdkJson.Exists ? RetuneCommand.ReadRouting(cdkJson, env).TargetPrecision : null)
                ?? throw new ArgumentException($"no target precision: give --target-precision, or a cdk.json (--cdk-json, now {cdkJson.FullName}) with environments.{env}.routing.targetPrecision");
            today = todayText is null ? DateOnly.FromDateTime(DateTime.UtcNow)
                : DateOnly.TryParseExact(todayText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d
                : throw new ArgumentException($"--today '{todayText}' is not a yyyy-MM-dd date");
            options = new ProductionPrecisionOptions { WindowDays = windowDays, MinBoxes = minBoxes, Z = z, TargetPrecision = targetPrecision }.Validate();
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or JsonException)
        {
            return CliErrors.Fail(Name, ex.Message, 2);
        }

        DatasetIndex index;
        try
        {
            index = await RetuneCommand.ReadIndexAsync(dataset, attribute, dataBucket, s3Endpoint, ct);
        }
        catch (Exception ex) when (ex is ArgumentException or FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            return CliErrors.Fail(Name, ex.Message, 2);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException)
        {
            return CliErrors.Fail(Name, ex.Message, 1);
        }

        var report = ProductionPrecision.Compute(index.Evidence, today, options);
        if (report.ByModel.Count == 0)
        {
            return CliErrors.Fail(Name, $"no audited boxes between {report.From:yyyy-MM-dd} and {report.To:yyyy-MM-dd} in the dataset index; merge jobs with audits first (or use --today / --window-days)", 3);
        }

        CanaryVerdict verdict;
        try
        {
            var canaryModel = CanaryComparison.ResolveModel(report, canaryPrefix, "--canary-model");
            var fleetModel = fleetPrefix is null ? null : CanaryComparison.ResolveModel(report, fleetPrefix, "--fleet-model");
            if (fleetModel == canaryModel)
            {
                throw new ArgumentException("--fleet-model and --canary-model name the same model");
            }

            verdict = CanaryComparison.Compare(report, canaryModel, fleetModel);
        }
        catch (ArgumentException ex)
        {
            return CliErrors.Fail(Name, ex.Message, 2);
        }

        if (json)
        {
            System.Console.Out.WriteLine(ToJson(verdict, report).ToJsonString());
        }
        else
        {
            Print(verdict, report, env);
        }

        return verdict.Promote ? 0 : Hold;
    }

    private static JsonObject? Row(PrecisionRow? r) => r is null ? null : new JsonObject
    {
        ["model"] = r.Model, ["class"] = r.Class, ["auditedBoxes"] = r.ModelBoxes, ["matchedBoxes"] = r.MatchedBoxes, ["precision"] = r.Precision,
        ["lowerBound"] = r.PrecisionLower, ["upperBound"] = r.PrecisionUpper, ["recall"] = r.Recall, ["enough"] = r.Enough,
    };

    private static JsonObject ToJson(CanaryVerdict v, ProductionPrecisionReport report) => new()
    {
        ["decision"] = v.Decision,
        ["from"] = report.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["to"] = report.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["targetPrecision"] = report.TargetPrecision,
        ["minBoxes"] = report.MinBoxes,
        ["canary"] = Row(v.Canary),
        ["fleet"] = Row(v.Fleet),
        ["classes"] = new JsonArray(v.Classes.Select(c => (JsonNode)new JsonObject { ["class"] = c.Class, ["canary"] = Row(c.Canary), ["fleet"] = Row(c.Fleet), ["worse"] = c.Worse }).ToArray()),
        ["reasons"] = new JsonArray(v.Reasons.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()),
    };

    private static string P(double? v) => v is { } x ? (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "n/a";

    private static void Print(CanaryVerdict v, ProductionPrecisionReport report, string env)
    {
        var table = new Table().Title($"Automatic labels audited {report.From:yyyy-MM-dd}..{report.To:yyyy-MM-dd} (95 % Wilson interval; target {P(report.TargetPrecision)}, at least {report.MinBoxes} boxes)");
        table.AddColumns("", "model", "audited boxes", "precision", "interval", "recall");
        void Add(string what, PrecisionRow? r)
        {
            if (r is not null)
            {
                table.AddRow(Markup.Escape(what), ProductionPrecision.ShortModel(r.Model!), r.ModelBoxes.ToString("N0", CultureInfo.InvariantCulture), P(r.Precision),
                    $"[[{P(r.PrecisionLower)}, {P(r.PrecisionUpper)}]]", P(r.Recall));
            }
        }

        Add("canary", v.Canary);
        Add("fleet", v.Fleet);
        foreach (var c in v.Classes)
        {
            Add($"  {c.Class} canary", c.Canary);
            Add($"  {c.Class} fleet", c.Fleet);
        }

        AnsiConsole.Write(table);
        if (v.Promote)
        {
            AnsiConsole.MarkupLine($"[green bold]promote[/]: the canary's automatic labels are at least as good as the fleet's. Set environments.{Markup.Escape(env)}.fleet.fleetComponentVersion to null, remove fleet.fleetRouting, and cdk deploy.");
        }
        else
        {
            AnsiConsole.MarkupLine("[yellow bold]hold[/]: keep the fleet on its version.");
            foreach (var reason in v.Reasons)
            {
                AnsiConsole.MarkupLineInterpolated($"  - {reason}");
            }
        }
    }
}
