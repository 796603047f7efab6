using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Cli.Calibration;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Cli.Reporting;
using EdgeLabeling.Evaluation;
using EdgeLabeling.Inference;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel calibrate --model M --images DIR --labels DIR --target-precision 0.95 [--iou 0.5]</c>:
/// recommends the auto-accept threshold and uncertain band that meet a precision target for automatic
/// labels while sending the fewest images to people. Exit codes: 0 recommendation found, 4 no threshold
/// meets the target, 2 bad input, 3 model error.
/// </summary>
internal static class CalibrateCommand
{
    public const int NoThresholdMeetsTarget = 4;

    public static Command Create()
    {
        var model = new Option<FileInfo>("--model", "-m") { Description = "ONNX detector to calibrate.", Required = true };
        var images = new Option<DirectoryInfo>("--images") { Description = "Validation images.", Required = true };
        var labels = new Option<DirectoryInfo>("--labels") { Description = "YOLO label files (<image-stem>.txt: class cx cy w h, normalized).", Required = true };
        var target = new Option<double>("--target-precision") { Description = "Precision the automatic labels must reach (0-1).", DefaultValueFactory = _ => 0.95 };
        var iou = new Option<double>("--iou") { Description = "IoU for a prediction to count as correct.", DefaultValueFactory = _ => 0.5 };
        var minRecall = new Option<double>("--min-recall") { Description = "Recall floor inside auto-labeled images (stops 'precision' bought by dropping real objects).", DefaultValueFactory = _ => 0.85 };
        var confidence = new Option<double>("--confidence-z") { Description = "Require the Wilson lower bound (z standard errors) of precision to meet the target; 0 = point estimate.", DefaultValueFactory = _ => 0.5 };
        var holdoutImages = new Option<DirectoryInfo?>("--holdout-images") { Description = "Held-out images to check the recommendation on." };
        var holdoutLabels = new Option<DirectoryInfo?>("--holdout-labels") { Description = "Labels of the held-out images." };
        var classNames = new Option<FileInfo?>("--class-names") { Description = "Class names file (one per line), overriding the model's metadata." };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Where to write calibration.json, the chart and the config snippet.", DefaultValueFactory = _ => new DirectoryInfo("out/calibration") };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on stdout." };

        var command = new Command("calibrate", "Sweep routing thresholds on a labeled validation set and recommend the ones that meet a precision target.")
        {
            model, images, labels, target, iou, minRecall, confidence, holdoutImages, holdoutLabels, classNames, output, json,
        };
        command.SetAction((parse, ct) => Task.FromResult(Run(
            parse.GetValue(model)!.FullName,
            parse.GetValue(images)!.FullName,
            parse.GetValue(labels)!.FullName,
            new CalibrationOptions { TargetPrecision = parse.GetValue(target), IouThreshold = parse.GetValue(iou), MinAutoRecall = parse.GetValue(minRecall), ConfidenceZ = parse.GetValue(confidence) },
            parse.GetValue(holdoutImages)?.FullName,
            parse.GetValue(holdoutLabels)?.FullName,
            parse.GetValue(classNames)?.FullName,
            parse.GetValue(output)!.FullName,
            parse.GetValue(json),
            ct)));
        return command;
    }

    private static int Run(string modelPath, string imagesDir, string labelsDir, CalibrationOptions options, string? holdoutImages, string? holdoutLabels, string? classNamesPath, string outputDir, bool json, CancellationToken ct)
    {
        try
        {
            options.Validate();
            if ((holdoutImages is null) != (holdoutLabels is null))
            {
                return CliErrors.Fail("calibrate", "--holdout-images and --holdout-labels go together", 2);
            }

            using var detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = modelPath, LabelsPath = classNamesPath, ScoreFloor = 0.05f });
            var names = detector.Info.ClassNames;
            var fit = Load(detector, imagesDir, labelsDir, json, "validation set", ct);
            var result = new ThresholdCalibrator(fit.Images, options).Calibrate(names);

            RoutingEvaluation? holdout = null;
            if (holdoutImages is not null && result.Global is not null)
            {
                var set = Load(detector, holdoutImages, holdoutLabels!, json, "held-out set", ct);
                holdout = new ThresholdCalibrator(set.Images, options).Evaluate(result.Recommended!.Thresholds);
            }

            Directory.CreateDirectory(outputDir);
            var chartPath = Path.Combine(outputDir, "calibration-tradeoff.png");
            var chosen = result.Recommended;
            Charts.TradeOff(chartPath, result.TradeOff.Select(e => (e.Thresholds.High, e.HumanShare, e.AutoPrecision)).ToList(), options.TargetPrecision,
                chosen is null ? null : (chosen.HumanShare, chosen.AutoPrecision));
            var snippet = ConfigSnippet(chosen, names);
            var snippetPath = Path.Combine(outputDir, "routing-config.json");
            if (snippet is not null)
            {
                File.WriteAllText(snippetPath, snippet.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            }

            var report = ToJson(result, names, holdout, fit, chartPath, snippet is null ? null : snippetPath);
            File.WriteAllText(Path.Combine(outputDir, "calibration.json"), report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

            if (json)
            {
                System.Console.Out.WriteLine(report.ToJsonString());
            }
            else
            {
                Print(result, names, holdout, fit, chartPath, snippet);
            }

            return result.MeetsTarget ? 0 : NoThresholdMeetsTarget;
        }
        catch (ArgumentException ex)
        {
            return CliErrors.Fail("calibrate", ex.Message, 2);
        }
        catch (CalibrationInputException ex)
        {
            return CliErrors.Fail("calibrate", ex.Message, 2);
        }
        catch (ModelLoadException ex)
        {
            return CliErrors.Fail("calibrate", ex.Message, 3);
        }
        catch (OperationCanceledException)
        {
            return CliErrors.Fail("calibrate", "interrupted", 130);
        }
    }

    private static LoadedSet Load(OnnxDetector detector, string images, string labels, bool quiet, string what, CancellationToken ct)
    {
        if (quiet || System.Console.IsOutputRedirected)
        {
            return ValidationSet.Load(detector, images, labels, null, ct);
        }

        var total = ValidationSet.ImagesIn(images).Count;
        LoadedSet? loaded = null;
        AnsiConsole.Progress().Start(ctx =>
        {
            var task = ctx.AddTask($"running the model on the {what}", maxValue: total);
            loaded = ValidationSet.Load(detector, images, labels, new SyncProgress<int>(n => task.Value = n), ct);
        });
        return loaded!;
    }

    /// <summary>The routing config keys (same names as the label command's --config) to paste.</summary>
    private static JsonObject? ConfigSnippet(RoutingEvaluation? chosen, IReadOnlyList<string> names)
    {
        if (chosen is null)
        {
            return null;
        }

        var t = chosen.Thresholds;
        var perClass = new JsonObject();
        if (t.PerClassHigh is not null)
        {
            foreach (var (id, high) in t.PerClassHigh.OrderBy(kv => kv.Key))
            {
                perClass[names[id]] = high;
            }
        }

        return new JsonObject
        {
            ["autoAcceptThreshold"] = t.High,
            ["uncertainLow"] = t.Low,
            ["classThresholds"] = perClass,
        };
    }

    private static JsonObject Eval(RoutingEvaluation e, IReadOnlyList<string>? names = null) => new()
    {
        ["low"] = e.Thresholds.Low,
        ["high"] = e.Thresholds.High,
        ["classThresholds"] = e.Thresholds.PerClassHigh is null || names is null ? null
            : new JsonObject(e.Thresholds.PerClassHigh.OrderBy(kv => kv.Key).Select(kv => KeyValuePair.Create(names[kv.Key], (JsonNode?)kv.Value))),
        ["images"] = e.Images,
        ["humanShare"] = Math.Round(e.HumanShare, 4),
        ["autoImages"] = e.AutoImages,
        ["autoBoxes"] = e.AutoBoxes,
        ["autoPrecision"] = Math.Round(e.AutoPrecision, 4),
        ["autoRecall"] = Math.Round(e.AutoRecall, 4),
    };

    private static JsonObject ToJson(CalibrationResult r, IReadOnlyList<string> names, RoutingEvaluation? holdout, LoadedSet fit, string chart, string? snippetPath)
    {
        var classes = new JsonArray();
        foreach (var c in r.Classes)
        {
            classes.Add(new JsonObject { ["class"] = c.ClassName, ["threshold"] = c.High, ["precision"] = Math.Round(c.PrecisionAtHigh, 4), ["support"] = c.Support });
        }

        return new JsonObject
        {
            ["targetPrecision"] = r.Options.TargetPrecision,
            ["iou"] = r.Options.IouThreshold,
            ["minAutoRecall"] = r.Options.MinAutoRecall,
            ["confidenceZ"] = r.Options.ConfidenceZ,
            ["meetsTarget"] = r.MeetsTarget,
            ["images"] = fit.Images.Count,
            ["skippedImages"] = new JsonArray(fit.Skipped.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()),
            ["global"] = r.Global is null ? null : Eval(r.Global, names),
            ["perClass"] = r.PerClass is null ? null : Eval(r.PerClass, names),
            ["recommended"] = r.Recommended is null ? null : Eval(r.Recommended, names),
            ["classes"] = classes,
            ["tradeOff"] = new JsonArray(r.TradeOff.Select(e => (JsonNode)Eval(e)).ToArray()),
            ["holdout"] = holdout is null ? null : Eval(holdout),
            ["chart"] = chart,
            ["configSnippet"] = snippetPath,
        };
    }

    private static string P(double v) => CliFormat.Percent(v);

    private static string T(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);

    private static void Print(CalibrationResult r, IReadOnlyList<string> names, RoutingEvaluation? holdout, LoadedSet fit, string chart, JsonObject? snippet)
    {
        var table = new Table().Title($"Trade-off on {fit.Images.Count} validation images (target precision {P(r.Options.TargetPrecision)}, IoU {T(r.Options.IouThreshold)})");
        table.AddColumns("auto-accept ≥", "band low", "to people", "auto precision", "auto recall", "auto boxes", "meets target");
        foreach (var e in r.TradeOff)
        {
            var ok = ThresholdCalibrator.WilsonLowerBound(e.AutoCounts.TruePositives, e.AutoBoxes, r.Options.ConfidenceZ) >= r.Options.TargetPrecision
                && e.AutoRecall >= r.Options.MinAutoRecall && e.AutoBoxes >= r.Options.MinSupportBoxes;
            table.AddRow(T(e.Thresholds.High), T(e.Thresholds.Low), P(e.HumanShare), P(e.AutoPrecision), P(e.AutoRecall), e.AutoBoxes.ToString(CultureInfo.InvariantCulture), ok ? "[green]yes[/]" : "no");
        }

        AnsiConsole.Write(table);
        var classes = new Table().Title("Per class: lowest threshold whose boxes meet the target");
        classes.AddColumns("class", "threshold", "precision", "boxes");
        foreach (var c in r.Classes)
        {
            classes.AddRow(Markup.Escape(c.ClassName), c.High is null ? "[red]none[/]" : T(c.High.Value), P(c.PrecisionAtHigh), c.Support.ToString(CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(classes);
        if (r.Global is null)
        {
            AnsiConsole.MarkupLine($"[red]No threshold meets the target precision {P(r.Options.TargetPrecision)} with auto recall ≥ {P(r.Options.MinAutoRecall)}.[/] Lower the target, improve the model, or send everything to people.");
        }
        else
        {
            var chosen = r.Recommended!;
            AnsiConsole.MarkupLine($"Recommended: auto-accept ≥ [bold]{T(chosen.Thresholds.High)}[/], uncertain band [[{T(chosen.Thresholds.Low)}, threshold) → {P(chosen.HumanShare)} of images to people, automatic precision {P(chosen.AutoPrecision)}, recall {P(chosen.AutoRecall)}.");
            if (holdout is not null)
            {
                AnsiConsole.MarkupLine($"Held-out check ({holdout.Images} images): precision [bold]{P(holdout.AutoPrecision)}[/] (target {P(r.Options.TargetPrecision)}), to people {P(holdout.HumanShare)}.");
            }

            AnsiConsole.WriteLine("Config snippet (routing --config):");
            AnsiConsole.WriteLine(snippet!.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }

        AnsiConsole.MarkupLineInterpolated($"chart: {chart}");
    }
}
