using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Cli.Reporting;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Deployment;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Quality;
using EdgeLabeling.Storage;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel retune --dataset DIR|index.json|s3://bucket --target-precision P [--window-days N] [--json]</c>: recommends global and
/// per-class auto-accept thresholds from the production evidence the merge keeps in the dataset index (audits and reviews), falls
/// back to the calibration set where a class has too few audits, forecasts the share of images to people and the monthly cost at
/// today's and the new thresholds, draws the precision curves and writes the cdk.json routing fragment.
/// Exit codes: 0 recommendation written, 1 the store failed, 2 bad input, 3 no production evidence in the window,
/// 4 a class has no threshold that meets the target.
/// </summary>
internal static class RetuneCommand
{
    public const int NoEvidence = 3;
    public const int NoThresholdMeetsTarget = 4;

    public static Command Create()
    {
        var dataset = new Option<string>("--dataset", "-d") { Description = "The merged dataset: a local object store folder (as the pipeline writes), a dataset index.json, or s3://<data bucket>.", Required = true };
        var target = new Option<double?>("--target-precision") { Description = "Precision the automatic labels must keep (0-1); default routing.targetPrecision of --env in cdk.json, else 0.95." };
        var window = new Option<int>("--window-days") { Description = "Days of capture time to use, ending with --today.", DefaultValueFactory = _ => 28 };
        var today = new Option<string?>("--today") { Description = "Last day of the window (yyyy-MM-dd, UTC); default today." };
        var minBoxes = new Option<int>("--min-boxes") { Description = "Audited boxes a class needs before its production evidence is used.", DefaultValueFactory = _ => 50 };
        var minChange = new Option<double>("--min-change") { Description = "Smallest threshold move worth a deployment (no churn on noise).", DefaultValueFactory = _ => 0.05 };
        var z = new Option<double>("--confidence-z") { Description = "z of the Wilson lower bound that must meet the target (1.96 = 95 %, the alarm's).", DefaultValueFactory = _ => Evaluation.WilsonInterval.Z95 };
        var maxAudit = new Option<double>("--max-audit-rate") { Description = "Upper bound of a raised audit rate for classes with too few audits.", DefaultValueFactory = _ => 0.2 };
        var noAuditRaise = new Option<bool>("--no-audit-raise") { Description = "Keep today's audit rate even when a class has too few audits (still reported)." };
        var calibration = new Option<FileInfo?>("--calibration") { Description = "calibration.json of `edgelabel calibrate`: per-class thresholds used where audits are too few." };
        var cdkJson = new Option<FileInfo>("--cdk-json") { Description = "cdk.json holding today's routing (context.environments.<env>.routing).", DefaultValueFactory = _ => new FileInfo("cdk.json") };
        var env = new Option<string>("--env") { Description = "Environment of cdk.json whose routing is today's.", DefaultValueFactory = _ => "dev" };
        var attribute = new Option<string>("--label-attribute") { Description = "The dataset's label attribute.", DefaultValueFactory = _ => "parts" };
        var dataBucket = new Option<string>("--data-bucket") { Description = "Bucket inside a local store folder that holds dataset/.", DefaultValueFactory = _ => new LabelingOptions().DataBucket };
        var s3Endpoint = new Option<string?>("--s3-endpoint") { Description = "S3-compatible endpoint for an s3:// dataset." };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Where to write retune.json, the chart and routing-fragment.json.", DefaultValueFactory = _ => new DirectoryInfo("out/retune") };
        var json = new Option<bool>("--json") { Description = "Print the recommendation as JSON on stdout." };

        var command = new Command("retune", "Recommend auto-accept thresholds (global and per class) from the production precision measured on audits, with the share of images to people and the monthly cost at today's and the new thresholds.")
        {
            dataset, target, window, today, minBoxes, minChange, z, maxAudit, noAuditRaise, calibration, cdkJson, env, attribute, dataBucket, s3Endpoint, output, json,
        };
        command.SetAction((p, ct) => RunAsync(new Request(
            p.GetValue(dataset)!, p.GetValue(target), p.GetValue(window), p.GetValue(today), p.GetValue(minBoxes), p.GetValue(minChange), p.GetValue(z), p.GetValue(maxAudit),
            !p.GetValue(noAuditRaise), p.GetValue(calibration), p.GetValue(cdkJson)!, p.GetValue(env)!, p.GetValue(attribute)!, p.GetValue(dataBucket)!, p.GetValue(s3Endpoint),
            p.GetValue(output)!.FullName, p.GetValue(json)), ct));
        return command;
    }

    private sealed record Request(string Dataset, double? Target, int WindowDays, string? Today, int MinBoxes, double MinChange, double Z, double MaxAuditRate, bool RaiseAuditRate,
        FileInfo? Calibration, FileInfo CdkJson, string Env, string Attribute, string DataBucket, string? S3Endpoint, string Output, bool Json);

    private static async Task<int> RunAsync(Request r, CancellationToken ct)
    {
        RoutingSettings current;
        double target;
        BudgetPolicy budget;
        DateOnly today;
        IReadOnlyDictionary<string, double> calibrated;
        try
        {
            (current, var configuredTarget, budget) = ReadRouting(r.CdkJson, r.Env);
            target = r.Target ?? configuredTarget ?? 0.95;
            today = r.Today is null ? DateOnly.FromDateTime(DateTime.UtcNow)
                : DateOnly.TryParseExact(r.Today, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d
                : throw new ArgumentException($"--today '{r.Today}' is not a yyyy-MM-dd date");
            calibrated = r.Calibration is null ? new Dictionary<string, double>() : ReadCalibration(r.Calibration);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or JsonException)
        {
            return CliErrors.Fail("retune", ex.Message, 2);
        }

        var options = new RetuneOptions
        {
            TargetPrecision = target, WindowDays = r.WindowDays, Z = r.Z, MinBoxes = r.MinBoxes, MinChange = r.MinChange, MaxAuditRate = r.MaxAuditRate,
            RaiseAuditRate = r.RaiseAuditRate, CalibrationThresholds = calibrated, Budget = budget,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            return CliErrors.Fail("retune", ex.Message, 2);
        }

        DatasetIndex index;
        try
        {
            index = await ReadIndexAsync(r.Dataset, r.Attribute, r.DataBucket, r.S3Endpoint, ct);
        }
        catch (Exception ex) when (ex is ArgumentException or FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            return CliErrors.Fail("retune", ex.Message, 2);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException)
        {
            return CliErrors.Fail("retune", ex.Message, 1);
        }

        var evidence = index.Evidence.ToList();
        if (!ProductionPrecision.InWindow(evidence, today, options.WindowDays).Any())
        {
            var days = evidence.Select(c => c.Day).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            return CliErrors.Fail("retune", days.Count == 0
                ? $"the dataset index has no production evidence ({index.Shards.Count} merged jobs, none with audited or reviewed images whose prior boxes were kept); merge jobs with this version first"
                : $"no production evidence in the {options.WindowDays} days ending {today:yyyy-MM-dd}; evidence covers {days[0]}..{days[^1]} (use --today or --window-days)", NoEvidence);
        }

        var result = ThresholdRetuner.Recommend(evidence, today, current, options);
        Directory.CreateDirectory(r.Output);
        var chartPath = Path.Combine(r.Output, "retune-precision.png");
        Charts.PrecisionCurves(chartPath, result.Classes.Select(c => (c.Class, (IReadOnlyList<(double, double?)>)c.Curve.Where(p => !p.Band).Select(p => (p.Threshold, p.Lower)).ToList(), c.CurrentThreshold, c.RecommendedThreshold)).ToList(), target);
        var fragment = CdkRouting.Fragment(result);
        var fragmentPath = Path.Combine(r.Output, "routing-fragment.json");
        var indented = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(fragmentPath, fragment.ToJsonString(indented) + "\n");
        var report = ToJson(result, r.Env, chartPath, fragmentPath);
        // The same window per class, device and model version: what the merge emits, and what a canary is compared on.
        var production = ProductionPrecision.Compute(evidence, today, new ProductionPrecisionOptions { WindowDays = options.WindowDays, MinBoxes = options.MinBoxes, Z = options.Z, TargetPrecision = target });
        report["productionPrecision"] = Pipeline.PipelinePrecision.ToJson(production);
        File.WriteAllText(Path.Combine(r.Output, "retune.json"), report.ToJsonString(indented) + "\n");
        if (r.Json)
        {
            System.Console.Out.WriteLine(report.ToJsonString());
        }
        else
        {
            Print(result, r.Env, chartPath, fragmentPath, fragment);
            var groups = new Table().Title("Production precision per device and model version (audits, 95 % Wilson interval)");
            groups.AddColumns("group", "audited boxes", "precision", "interval", "recall");
            foreach (var row in production.ByModel.Concat(production.ByDevice))
            {
                groups.AddRow(Markup.Escape(row.Model is null ? "device " + row.Device : "model " + ProductionPrecision.ShortModel(row.Model)), row.ModelBoxes.ToString("N0", CultureInfo.InvariantCulture),
                    P(row.Precision), $"[[{P(row.PrecisionLower)}, {P(row.PrecisionUpper)}]]", P(row.Recall));
            }

            AnsiConsole.Write(groups);
        }

        return result.Classes.Any(c => c.Source == RetuneSources.NoThreshold) ? NoThresholdMeetsTarget : 0;
    }

    /// <summary>Today's routing, target and prices from cdk.json (<c>context.environments.&lt;env&gt;</c>; also read by promote).</summary>
    internal static DeployedRouting ReadRouting(FileInfo cdkJson, string env) =>
        cdkJson.Exists ? CdkRouting.Read(cdkJson.FullName, env)
        : throw new FileNotFoundException($"cdk.json not found at {cdkJson.FullName}: give --cdk-json (today's routing comes from it)");

    /// <summary>classes[].threshold of calibrate's calibration.json.</summary>
    private static Dictionary<string, double> ReadCalibration(FileInfo file)
    {
        if (!file.Exists)
        {
            throw new FileNotFoundException($"calibration file {file.FullName} does not exist");
        }

        var classes = JsonNode.Parse(File.ReadAllText(file.FullName))?["classes"] as JsonArray
            ?? throw new FormatException($"{file.FullName} has no 'classes' array (is it the calibration.json of edgelabel calibrate?)");
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var c in classes)
        {
            if (c?["class"]?.GetValue<string>() is { } name && c["threshold"] is JsonValue v && v.TryGetValue<double>(out var t))
            {
                result[name] = t;
            }
        }

        return result;
    }

    /// <summary>The dataset index from a local store folder, an index.json file or s3://&lt;data bucket&gt; (also read by promote).</summary>
    internal static async Task<DatasetIndex> ReadIndexAsync(string dataset, string attribute, string dataBucket, string? s3Endpoint, CancellationToken ct)
    {
        var r = (Dataset: dataset, Attribute: attribute, DataBucket: dataBucket, S3Endpoint: s3Endpoint);
        byte[]? bytes;
        string where;
        if (r.Dataset.StartsWith("s3://", StringComparison.Ordinal))
        {
            var bucket = r.Dataset[5..].Split('/')[0];
            if (bucket.Length == 0)
            {
                throw new ArgumentException($"--dataset '{r.Dataset}' names no bucket (s3://<data bucket>)");
            }

            var settings = new S3Settings { ServiceUrl = r.S3Endpoint, Region = Environment.GetEnvironmentVariable("AWS_REGION") ?? "us-east-1", ChecksumWhenRequired = r.S3Endpoint is not null };
            var store = new S3ObjectStore(settings.CreateClient(), settings);
            var key = DatasetKeys.IndexKey(r.Attribute);
            where = $"s3://{bucket}/{key}";
            bytes = await store.ReadBytesAsync(bucket, key, ct);
        }
        else if (File.Exists(r.Dataset))
        {
            where = Path.GetFullPath(r.Dataset);
            bytes = await File.ReadAllBytesAsync(r.Dataset, ct);
        }
        else if (Directory.Exists(r.Dataset))
        {
            var direct = Path.Combine(r.Dataset, "index.json");
            if (File.Exists(direct))
            {
                where = Path.GetFullPath(direct);
                bytes = await File.ReadAllBytesAsync(direct, ct);
            }
            else
            {
                var key = DatasetKeys.IndexKey(r.Attribute);
                where = Path.Combine(Path.GetFullPath(r.Dataset), r.DataBucket, key);
                bytes = await new FileSystemObjectStore(r.Dataset).ReadBytesAsync(r.DataBucket, key, ct);
            }
        }
        else
        {
            throw new FileNotFoundException($"--dataset '{r.Dataset}' is neither a folder, a file nor an s3:// URI");
        }

        if (bytes is null)
        {
            throw new FileNotFoundException($"no dataset index at {where}: has the merge run for label attribute '{r.Attribute}' (--label-attribute) in bucket '{r.DataBucket}' (--data-bucket)?");
        }

        try
        {
            return JsonSerializer.Deserialize(bytes, DatasetIndexJsonContext.Default.DatasetIndex) ?? throw new JsonException("null");
        }
        catch (JsonException ex)
        {
            throw new JsonException($"{where} is not a dataset index: {ex.Message}", ex);
        }
    }

    private static JsonObject? Point(CurvePoint? p) => p is null ? null : new JsonObject
    {
        ["threshold"] = p.Threshold, ["boxes"] = p.Boxes, ["matched"] = p.Matched, ["precision"] = p.Precision, ["lowerBound"] = p.Lower, ["reviewedBand"] = p.Band,
    };

    private static JsonObject Forecast(RoutingForecast f) => new()
    {
        ["humanShare"] = f.HumanShare, ["imagesPerMonth"] = f.ImagesPerMonth, ["imagesToPeoplePerMonth"] = f.ImagesToPeoplePerMonth, ["monthlyCostUsd"] = f.MonthlyCostUsd,
        ["autoVolumeKnown"] = f.AutoVolumeKnown,
    };

    private static JsonObject ToJson(RetuneResult r, string env, string chart, string fragment) => new()
    {
        ["environment"] = env,
        ["from"] = r.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["to"] = r.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["targetPrecision"] = r.Options.TargetPrecision,
        ["confidenceZ"] = r.Options.Z,
        ["minBoxes"] = r.Options.MinBoxes,
        ["changed"] = r.AnyChange,
        ["classes"] = new JsonArray(r.Classes.Select(c => (JsonNode)new JsonObject
        {
            ["class"] = c.Class, ["currentThreshold"] = c.CurrentThreshold, ["recommendedThreshold"] = c.RecommendedThreshold, ["changed"] = c.Changed, ["source"] = c.Source,
            ["auditedBoxes"] = c.AuditedBoxes, ["atCurrent"] = Point(c.AtCurrent), ["atRecommended"] = Point(c.AtRecommended), ["note"] = c.Note,
        }).ToArray()),
        ["tooFewAudits"] = new JsonArray(r.TooFewAudits.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()),
        ["auditRateNote"] = r.AuditRateNote,
        ["today"] = Forecast(r.Today),
        ["recommended"] = Forecast(r.AtRecommended),
        ["chart"] = chart,
        ["routingFragment"] = fragment,
    };

    private static string P(double? v) => v is { } x ? (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "n/a";

    private static string T(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);

    private static void Print(RetuneResult r, string env, string chart, string fragmentPath, JsonObject fragment)
    {
        var table = new Table().Title($"Production precision {r.From:yyyy-MM-dd}..{r.To:yyyy-MM-dd} (target: lower bound ≥ {P(r.Options.TargetPrecision)})");
        table.AddColumns("class", "audited boxes", "today", "lower bound today", "recommended", "lower bound then", "from");
        foreach (var c in r.Classes)
        {
            table.AddRow(Markup.Escape(c.Class), c.AuditedBoxes.ToString("N0", CultureInfo.InvariantCulture), T(c.CurrentThreshold), P(c.AtCurrent?.Lower),
                c.Changed ? $"[bold]{T(c.RecommendedThreshold)}[/]" : T(c.RecommendedThreshold), P(c.AtRecommended?.Lower), Markup.Escape(c.Source));
        }

        AnsiConsole.Write(table);
        foreach (var c in r.Classes)
        {
            AnsiConsole.MarkupLine($"  {Markup.Escape(c.Class)}: {Markup.Escape(c.Note)}");
        }

        var forecast = new Table().Title("Images to people and cost (per month, from the window's volume)");
        forecast.AddColumns("", "today", "recommended");
        forecast.AddRow("share of images to people", P(r.Today.HumanShare), P(r.AtRecommended.HumanShare));
        forecast.AddRow("images to people", r.Today.ImagesToPeoplePerMonth.ToString("N0", CultureInfo.InvariantCulture), r.AtRecommended.ImagesToPeoplePerMonth.ToString("N0", CultureInfo.InvariantCulture));
        forecast.AddRow("labeling cost (USD)", r.Today.MonthlyCostUsd.ToString("N2", CultureInfo.InvariantCulture), r.AtRecommended.MonthlyCostUsd.ToString("N2", CultureInfo.InvariantCulture));
        AnsiConsole.Write(forecast);
        if (!r.Today.AutoVolumeKnown)
        {
            AnsiConsole.MarkupLine("[yellow]No audit image in the window:[/] the auto-labeled volume is unknown, so the share and cost count only the images people saw.");
        }
        if (r.AuditRateNote is { } note)
        {
            AnsiConsole.MarkupLine($"[yellow]Audit rate:[/] {Markup.Escape(note)}");
        }

        AnsiConsole.MarkupLine(r.AnyChange
            ? $"Paste [bold]{Markup.Escape(fragmentPath)}[/] over context.environments.{Markup.Escape(env)}.routing in cdk.json, then cdk deploy:"
            : "No change recommended; the fragment repeats today's routing:");
        AnsiConsole.WriteLine(fragment.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        AnsiConsole.MarkupLineInterpolated($"chart: {chart}");
    }
}
