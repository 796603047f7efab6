using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Cli.Calibration;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Evaluation;
using EdgeLabeling.Inference;
using EdgeLabeling.Labeling.Deployment;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel release-model --model new.onnx --version x.y.z --holdout-images DIR --holdout-labels DIR [--current-model M]
/// [--class-map old=new]... [--target-precision P] [--max-review-share S] [--env E] [--out DIR] [--json]</c>: the safe model
/// release. Checks the new model against the current one (signature and class names), calibrates it on the held-out set
/// (the calibrate command's code), refuses when the target precision needs too many images to people, packages the
/// component with scripts/package-component.sh and writes the canary-first settings into cdk.json (docs/deploy.md §7).
/// Exit codes: 0 released, 2 bad input, 3 a model cannot be loaded, 4 the target cannot be met within the review share,
/// 5 the new model does not fit the current one, 6 packaging failed.
/// </summary>
internal static class ReleaseModelCommand
{
    public const int TargetNotMet = 4;
    public const int Incompatible = 5;
    public const int PackagingFailed = 6;

    public static Command Create()
    {
        var model = new Option<FileInfo>("--model", "-m") { Description = "The new ONNX detector.", Required = true };
        var version = new Option<string>("--version") { Description = "Component version to release (major.minor.patch, above the previous one).", Required = true };
        var holdoutImages = new Option<DirectoryInfo>("--holdout-images") { Description = "Held-out images the new model is calibrated on (never used to train it).", Required = true };
        var holdoutLabels = new Option<DirectoryInfo>("--holdout-labels") { Description = "YOLO label files of the held-out images (<image-stem>.txt: class cx cy w h, normalized).", Required = true };
        var currentModel = new Option<FileInfo?>("--current-model") { Description = "The model the fleet runs today; default: the model inside the previous version's package under --component-dir." };
        var currentVersion = new Option<string?>("--current-version") { Description = "The version the fleet runs today (held for the fleet); default: the highest packaged version below --version." };
        var classMap = new Option<string[]>("--class-map") { Description = "OLD=NEW: a class renamed on purpose (repeat per class). Without it a renamed class is an error.", AllowMultipleArgumentsPerToken = true };
        var target = new Option<double?>("--target-precision") { Description = "Precision the automatic labels must reach; default routing.targetPrecision of --env, else 0.95." };
        var maxReview = new Option<double>("--max-review-share") { Description = "Refuse when meeting the target sends more than this share of images to people (0-1).", DefaultValueFactory = _ => 0.5 };
        var iou = new Option<double>("--iou") { Description = "IoU for a prediction to count as correct.", DefaultValueFactory = _ => 0.5 };
        var minRecall = new Option<double>("--min-recall") { Description = "Recall floor inside auto-labeled images.", DefaultValueFactory = _ => 0.85 };
        var confidence = new Option<double>("--confidence-z") { Description = "Wilson lower bound (z standard errors) of precision that must meet the target; 0 = point estimate.", DefaultValueFactory = _ => 0.5 };
        var env = new Option<string>("--env") { Description = "Environment of cdk.json to release into (needs fleet.canaryThingGroupArn).", DefaultValueFactory = _ => "dev" };
        var cdkJson = new Option<FileInfo>("--cdk-json") { Description = "cdk.json to write the canary-first settings into.", DefaultValueFactory = _ => new FileInfo("cdk.json") };
        var componentDir = new Option<DirectoryInfo>("--component-dir") { Description = "Folder of packaged versions (<version>/recipe.json).", DefaultValueFactory = _ => new DirectoryInfo("artifacts/component") };
        var packageScript = new Option<FileInfo>("--package-script") { Description = "The packaging script.", DefaultValueFactory = _ => new FileInfo("scripts/package-component.sh") };
        var rids = new Option<string[]>("--rid") { Description = "Runtime identifiers to package (default both linux-x64 and linux-arm64).", AllowMultipleArgumentsPerToken = true };
        var frameworkDependent = new Option<bool>("--framework-dependent") { Description = "Package a framework-dependent component (needs .NET 10 on the devices)." };
        var output = new Option<DirectoryInfo?>("--out", "-o") { Description = "Where to write release.json and the cdk.json fragment; default out/release/<version>." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on stdout." };

        var command = new Command("release-model", "Release a new model: check it against the current one, calibrate it on a held-out set, package the component and write canary-first settings into cdk.json.")
        {
            model, version, holdoutImages, holdoutLabels, currentModel, currentVersion, classMap, target, maxReview, iou, minRecall, confidence,
            env, cdkJson, componentDir, packageScript, rids, frameworkDependent, output, json,
        };
        command.SetAction((p, ct) => Task.FromResult(Run(new Request(
            p.GetValue(model)!, p.GetValue(version)!, p.GetValue(holdoutImages)!, p.GetValue(holdoutLabels)!, p.GetValue(currentModel), p.GetValue(currentVersion),
            p.GetValue(classMap) ?? [], p.GetValue(target), p.GetValue(maxReview), p.GetValue(iou), p.GetValue(minRecall), p.GetValue(confidence),
            p.GetValue(env)!, p.GetValue(cdkJson)!, p.GetValue(componentDir)!, p.GetValue(packageScript)!, p.GetValue(rids) ?? [], p.GetValue(frameworkDependent),
            p.GetValue(output), p.GetValue(json)), ct)));
        return command;
    }

    private sealed record Request(FileInfo Model, string Version, DirectoryInfo HoldoutImages, DirectoryInfo HoldoutLabels, FileInfo? CurrentModel, string? CurrentVersion,
        string[] ClassMap, double? Target, double MaxReviewShare, double Iou, double MinRecall, double ConfidenceZ, string Env, FileInfo CdkJson, DirectoryInfo ComponentDir,
        FileInfo PackageScript, string[] Rids, bool FrameworkDependent, DirectoryInfo? Output, bool Json);

    private static int Run(Request r, CancellationToken ct)
    {
        const string Name = "release-model";
        Version next;
        string previous;
        JsonObject cdk;
        IReadOnlyDictionary<string, string> classMap;
        CalibrationOptions calibration;
        string currentModelPath;
        var outDir = r.Output?.FullName ?? Path.GetFullPath(Path.Combine("out", "release", r.Version));
        try
        {
            next = ReleaseSettings.ParseVersion(r.Version, "--version");
            if (!(r.MaxReviewShare is > 0 and <= 1))
            {
                throw new ArgumentException($"--max-review-share {r.MaxReviewShare.ToString(CultureInfo.InvariantCulture)} must be within (0, 1]");
            }

            RequireFile(r.Model, "--model", "the new model");
            RequireDirectory(r.HoldoutImages, "--holdout-images");
            RequireDirectory(r.HoldoutLabels, "--holdout-labels");
            RequireFile(r.CdkJson, "--cdk-json", "cdk.json");
            RequireFile(r.PackageScript, "--package-script", "the packaging script");
            classMap = ModelCompatibility.ParseClassMap(r.ClassMap);

            cdk = CdkContext.Load(r.CdkJson.FullName);
            var environment = CdkContext.Environment(cdk, r.Env, r.CdkJson.FullName);
            ReleaseSettings.RequireCanary(environment, r.Env);
            var configured = environment["routing"]?["targetPrecision"] is JsonValue tv && tv.TryGetValue<double>(out var t) ? t : (double?)null;
            calibration = new CalibrationOptions { TargetPrecision = r.Target ?? configured ?? 0.95, IouThreshold = r.Iou, MinAutoRecall = r.MinRecall, ConfidenceZ = r.ConfidenceZ };
            calibration.Validate();

            previous = r.CurrentVersion is { } given
                ? ReleaseSettings.ParseVersion(given, "--current-version").ToString(3)
                : ReleaseSettings.PreviousVersion(r.ComponentDir.FullName, next)
                  ?? throw new ArgumentException($"no packaged version below {r.Version} in {r.ComponentDir.FullName} (the version the fleet runs today); pass --current-version and --current-model, or --component-dir");
            if (ReleaseSettings.ParseVersion(previous, "--current-version") >= next)
            {
                throw new ArgumentException($"--version {r.Version} must be above the version the fleet runs today ({previous})");
            }

            if (r.CurrentModel is { } cm)
            {
                RequireFile(cm, "--current-model", "the current model");
                currentModelPath = cm.FullName;
            }
            else
            {
                currentModelPath = ReleaseSettings.ExtractPackagedModel(Path.Combine(r.ComponentDir.FullName, previous), Path.Combine(outDir, "current-model"));
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or JsonException or IOException or InvalidDataException)
        {
            return CliErrors.Fail(Name, ex.Message, 2);
        }

        OnnxDetector? candidate = null;
        try
        {
            using var current = new OnnxDetector(new OnnxDetectorOptions { ModelPath = currentModelPath, ScoreFloor = 0.05f });
            candidate = new OnnxDetector(new OnnxDetectorOptions { ModelPath = r.Model.FullName, ScoreFloor = 0.05f });
            var fit = ModelCompatibility.Compare(current.Signature, current.Info.ClassNames, current.Info.Layout,
                candidate.Signature, candidate.Info.ClassNames, candidate.Info.Layout, classMap);
            if (!fit.Compatible)
            {
                if (r.Json)
                {
                    System.Console.Out.WriteLine(new JsonObject { ["released"] = false, ["reason"] = "incompatible", ["problems"] = Strings(fit.Problems) }.ToJsonString());
                }

                foreach (var problem in fit.Problems)
                {
                    CliErrors.Fail(Name, problem, Incompatible);
                }

                return CliErrors.Fail(Name, $"{r.Model.Name} does not fit the current model {Path.GetFileName(currentModelPath)} ({fit.Problems.Count} problem(s) above); nothing was packaged", Incompatible);
            }

            var set = ValidationSet.Load(candidate, r.HoldoutImages.FullName, r.HoldoutLabels.FullName, null, ct);
            var names = candidate.Info.ClassNames;
            var result = new ThresholdCalibrator(set.Images, calibration).Calibrate(names);
            var chosen = result.Recommended;
            if (chosen is null || chosen.HumanShare > r.MaxReviewShare)
            {
                var why = chosen is null
                    ? NoThresholdMessage(result, calibration)
                    : $"the target precision {CliFormat.Percent(calibration.TargetPrecision)} is met only at auto-accept ≥ {chosen.Thresholds.High.ToString("0.00", CultureInfo.InvariantCulture)} "
                      + $"with {CliFormat.Percent(chosen.HumanShare)} of images to people, above --max-review-share {CliFormat.Percent(r.MaxReviewShare)} "
                      + $"(auto precision {CliFormat.Percent(chosen.AutoPrecision)} on {chosen.AutoBoxes} boxes, {set.Images.Count} held-out images)";
                if (r.Json)
                {
                    System.Console.Out.WriteLine(new JsonObject { ["released"] = false, ["reason"] = "target-not-met", ["message"] = why, ["holdout"] = chosen is null ? null : Evaluation(chosen) }.ToJsonString());
                }

                return CliErrors.Fail(Name, why + "; nothing was packaged", TargetNotMet);
            }

            var routing = new ReleaseRouting(chosen.Thresholds.High, chosen.Thresholds.Low,
                (chosen.Thresholds.PerClassHigh ?? new Dictionary<int, double>()).ToDictionary(kv => names[kv.Key], kv => kv.Value, StringComparer.Ordinal),
                calibration.TargetPrecision);

            var versionDir = Path.Combine(r.ComponentDir.FullName, r.Version);
            var record = ReleaseRecord(r, previous, candidate.Info, current.Info, routing, chosen, set, fit);
            var existing = Path.Combine(versionDir, "release.json");
            if (File.Exists(existing) && !JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(existing)), record))
            {
                return CliErrors.Fail(Name, $"version {r.Version} was already released with another model or thresholds ({existing}); a released version never changes: bump --version", 2);
            }

            var (packaged, packageLog) = Package(r, versionDir, ct);
            if (!packaged)
            {
                return CliErrors.Fail(Name, $"packaging failed: {packageLog}", PackagingFailed);
            }

            var indented = new JsonSerializerOptions { WriteIndented = true };
            File.WriteAllText(existing, record.ToJsonString(indented) + "\n");
            var relativeDir = Path.GetRelativePath(r.CdkJson.DirectoryName!, versionDir);
            var fragment = ReleaseSettings.Apply(cdk, r.Env, r.CdkJson.FullName, routing, previous, relativeDir);
            File.WriteAllText(r.CdkJson.FullName, cdk.ToJsonString(indented) + "\n");
            Directory.CreateDirectory(outDir);
            var fragmentPath = Path.Combine(outDir, "cdk-release.json");
            File.WriteAllText(fragmentPath, fragment.ToJsonString(indented) + "\n");
            var report = new JsonObject
            {
                ["released"] = true,
                ["version"] = r.Version,
                ["previousVersion"] = previous,
                ["environment"] = r.Env,
                ["componentDir"] = versionDir,
                ["release"] = record.DeepClone(),
                ["cdkJson"] = r.CdkJson.FullName,
                ["cdkFragment"] = fragmentPath,
                ["nextSteps"] = Strings(NextSteps(r, previous, candidate.Info.ModelSha256)),
            };
            File.WriteAllText(Path.Combine(outDir, "release.json"), report.ToJsonString(indented) + "\n");
            if (r.Json)
            {
                System.Console.Out.WriteLine(report.ToJsonString());
            }
            else
            {
                Print(r, previous, candidate.Info, chosen, routing, fit, fragmentPath);
            }

            return 0;
        }
        catch (ModelLoadException ex)
        {
            return CliErrors.Fail(Name, ex.Message, 3);
        }
        catch (CalibrationInputException ex)
        {
            return CliErrors.Fail(Name, ex.Message, 2);
        }
        catch (OperationCanceledException)
        {
            return CliErrors.Fail(Name, "interrupted", 130);
        }
        finally
        {
            candidate?.Dispose();
        }
    }

    private static void RequireFile(FileInfo file, string option, string what)
    {
        if (!file.Exists)
        {
            throw new ArgumentException($"{option} '{file.FullName}' does not exist ({what})");
        }
    }

    private static void RequireDirectory(DirectoryInfo dir, string option)
    {
        if (!dir.Exists)
        {
            throw new ArgumentException($"{option} folder '{dir.FullName}' does not exist");
        }
    }

    private static string NoThresholdMessage(CalibrationResult result, CalibrationOptions options)
    {
        var best = result.TradeOff.Where(e => e.AutoBoxes > 0).OrderByDescending(e => e.AutoPrecision).FirstOrDefault();
        return best is null
            ? $"no threshold auto-labels any box on the held-out set, so the target precision {CliFormat.Percent(options.TargetPrecision)} cannot be shown"
            : $"no threshold meets the target precision {CliFormat.Percent(options.TargetPrecision)} with auto recall ≥ {CliFormat.Percent(options.MinAutoRecall)} on the held-out set; "
              + $"the best is {CliFormat.Percent(best.AutoPrecision)} at auto-accept ≥ {best.Thresholds.High.ToString("0.00", CultureInfo.InvariantCulture)} "
              + $"(recall {CliFormat.Percent(best.AutoRecall)}, {CliFormat.Percent(best.HumanShare)} of images to people)";
    }

    private static JsonArray Strings(IEnumerable<string> items) => new(items.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray());

    private static JsonObject Evaluation(RoutingEvaluation e) => new()
    {
        ["images"] = e.Images,
        ["humanShare"] = Math.Round(e.HumanShare, 4),
        ["autoBoxes"] = e.AutoBoxes,
        ["autoPrecision"] = Math.Round(e.AutoPrecision, 4),
        ["autoRecall"] = Math.Round(e.AutoRecall, 4),
    };

    /// <summary>What this version is: written beside the recipe, and compared when the same version is released again.</summary>
    private static JsonObject ReleaseRecord(Request r, string previous, DetectorInfo model, DetectorInfo current, ReleaseRouting routing, RoutingEvaluation chosen, LoadedSet set, CompatibilityReport fit)
    {
        var perClass = new JsonObject();
        foreach (var (name, threshold) in routing.ClassThresholds.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            perClass[name] = Math.Round(threshold, 4);
        }

        return new JsonObject
        {
            ["version"] = r.Version,
            ["previousVersion"] = previous,
            ["model"] = new JsonObject { ["file"] = Path.GetFileName(model.ModelPath), ["sha256"] = model.ModelSha256, ["layout"] = model.Layout, ["classes"] = Strings(model.ClassNames) },
            ["currentModel"] = new JsonObject { ["sha256"] = current.ModelSha256, ["classes"] = Strings(current.ClassNames) },
            ["classChanges"] = Strings(fit.Notes),
            ["routing"] = new JsonObject
            {
                ["autoAcceptThreshold"] = Math.Round(routing.AutoAcceptThreshold, 4),
                ["uncertainLow"] = Math.Round(routing.UncertainLow, 4),
                ["classThresholds"] = perClass,
                ["targetPrecision"] = routing.TargetPrecision,
            },
            ["maxReviewShare"] = r.MaxReviewShare,
            ["holdout"] = Evaluation(chosen),
            ["holdoutSkippedImages"] = set.Skipped.Count,
        };
    }

    /// <summary>Runs scripts/package-component.sh: the one packaging path (deterministic archives, a released version never changes).</summary>
    private static (bool Ok, string Log) Package(Request r, string versionDir, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(r.PackageScript.FullName);
        psi.ArgumentList.Add(r.Version);
        psi.ArgumentList.Add("--model");
        psi.ArgumentList.Add(r.Model.FullName);
        psi.ArgumentList.Add("--out");
        psi.ArgumentList.Add(versionDir);
        foreach (var rid in r.Rids)
        {
            psi.ArgumentList.Add("--rid");
            psi.ArgumentList.Add(rid);
        }

        if (r.FrameworkDependent)
        {
            psi.ArgumentList.Add("--framework-dependent");
        }

        using var process = Process.Start(psi) ?? throw new IOException("bash could not be started");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            process.WaitForExitAsync(ct).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var errors = stderr.GetAwaiter().GetResult();
        _ = stdout.GetAwaiter().GetResult();
        if (process.ExitCode == 0)
        {
            return (true, errors);
        }

        // The script's own "package-component: ..." line says why; the publish log above it is noise here.
        var reason = errors.Split('\n').LastOrDefault(l => l.StartsWith("package-component:", StringComparison.Ordinal))
            ?? errors.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? $"exit code {process.ExitCode}";
        return (false, reason.Trim());
    }

    private static List<string> NextSteps(Request r, string previous, string sha) =>
    [
        $"upload and deploy the edge stack: npx cdk deploy -c env={r.Env} EdgeLabeling-{r.Env}-EdgeFleet (the canary group gets {r.Version}; the fleet stays on {previous} with its thresholds, fleet.fleetRouting)",
        $"watch the canary (docs/deploy.md §7), then compare its automatic labels with the fleet's: edgelabel promote --dataset s3://<data bucket> --canary-model {ShortSha(sha)} --env {r.Env}",
        $"promote: set environments.{r.Env}.fleet.fleetComponentVersion to null, remove fleet.fleetRouting, and deploy again; to roll back, keep the fleet on {previous} and release a new version",
        $"if the canary's labels are bad: edgelabel pending --requeue --model-sha {ShortSha(sha)} sends its automatic labels back to people",
    ];

    private static string ShortSha(string sha) => sha.Length > 12 ? sha[..12] : sha;

    private static void Print(Request r, string previous, DetectorInfo model, RoutingEvaluation chosen, ReleaseRouting routing, CompatibilityReport fit, string fragmentPath)
    {
        AnsiConsole.MarkupLineInterpolated($"Model {model.ModelSha256[..12]} fits the current model (same input, outputs and classes{(fit.Notes.Count > 0 ? "; " + string.Join("; ", fit.Notes) : "")}).");
        AnsiConsole.MarkupLineInterpolated($"Held-out set ({chosen.Images} images): auto-accept ≥ {routing.AutoAcceptThreshold:0.00}, band from {routing.UncertainLow:0.00} → {CliFormat.Percent(chosen.HumanShare)} of images to people (limit {CliFormat.Percent(r.MaxReviewShare)}), automatic precision {CliFormat.Percent(chosen.AutoPrecision)} (target {CliFormat.Percent(routing.TargetPrecision)}), recall {CliFormat.Percent(chosen.AutoRecall)}.");
        foreach (var (name, t) in routing.ClassThresholds.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            AnsiConsole.MarkupLineInterpolated($"  {name}: auto-accept ≥ {t:0.00}");
        }

        AnsiConsole.MarkupLineInterpolated($"Packaged {r.Version}; {r.CdkJson.Name} ({r.Env}): canary gets {r.Version}, fleet held at {previous} (fragment: {fragmentPath}).");
        AnsiConsole.WriteLine("Next steps:");
        var i = 1;
        foreach (var step in NextSteps(r, previous, model.ModelSha256))
        {
            AnsiConsole.WriteLine($"  {i++}. {step}");
        }
    }
}
