using System.CommandLine;
using System.Globalization;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Cli.Label;
using EdgeLabeling.Inference;
using EdgeLabeling.Routing;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel label --model M --input DIR --output DIR [--config FILE] [--labels FILE] [--json] [--threads N]</c>:
/// runs the detector over a folder and routes every image (auto-label / review / audit / duplicate / quarantine).
/// Exit codes: 0 done, 1 unexpected failure, 2 bad arguments/config/input, 3 model error, 130 interrupted.
/// </summary>
internal static class LabelCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model", "-m") { Description = "ONNX detector (YOLOv8/YOLOv5/SSD layout).", Required = true };
        var input = new Option<DirectoryInfo>("--input", "-i") { Description = "Folder of images (searched recursively; a first-level subfolder is the camera id).", Required = true };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Folder for auto-labels.manifest, review.manifest, review/, quarantine/, summary.json.", Required = true };
        var config = new Option<FileInfo?>("--config", "-c") { Description = "JSON routing config (thresholds, audit rate, duplicates, label attribute, device, bucket)." };
        var labels = new Option<FileInfo?>("--labels") { Description = "Class names file, one per line (overrides the model's metadata)." };
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON on stdout; no progress bar." };
        var threads = new Option<int>("--threads", "-t") { Description = "Decode threads (inference runs on one session).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var inferenceThreads = new Option<int>("--inference-threads") { Description = "ONNX Runtime intra-op threads of the one inference session.", DefaultValueFactory = _ => 1 };
        // Unset: LabelRunner.AutoConcurrentRuns picks two overlapping single-threaded runs for a small model on two
        // cores, one otherwise. The device's component keeps one run at a time: it shares its cores with the camera.
        var concurrentRuns = new Option<int?>("--concurrent-runs")
        {
            Description = "Model runs in flight at once on the one session; decisions stay in input order (default: 2 for a model input up to 416x416 on 2+ cores, else 1).",
        };

        var command = new Command("label", "Label a folder of images on this machine: confident predictions become Ground Truth lines, the rest go to review.")
        {
            model, input, output, config, labels, json, threads, inferenceThreads, concurrentRuns,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(Run(
            new LabelRunRequest
            {
                ModelPath = parse.GetValue(model)!.FullName,
                InputDirectory = parse.GetValue(input)!.FullName,
                OutputDirectory = parse.GetValue(output)!.FullName,
                ConfigPath = parse.GetValue(config)?.FullName,
                LabelsPath = parse.GetValue(labels)?.FullName,
                Threads = parse.GetValue(threads),
                ConcurrentRuns = parse.GetValue(concurrentRuns),
            },
            parse.GetValue(json),
            parse.GetValue(inferenceThreads),
            cancellationToken)));
        return command;
    }

    private static int Run(LabelRunRequest request, bool json, int inferenceThreads, CancellationToken cancellationToken)
    {
        if (inferenceThreads is < 1 or > 64)
        {
            return CliErrors.Fail("label", $"--inference-threads {inferenceThreads} must be between 1 and 64", LabelExitCodes.BadInput);
        }

        try
        {
            var summary = json || System.Console.IsOutputRedirected
                ? RunPlain(request, Factory(inferenceThreads), quiet: json, cancellationToken)
                : RunWithProgressBar(request, Factory(inferenceThreads), cancellationToken);
            if (json)
            {
                System.Console.Out.WriteLine(summary.ToJson());
            }
            else
            {
                AnsiConsole.Write(SummaryTable(summary));
                AnsiConsole.MarkupLineInterpolated($"model [bold]{summary.Model.Sha256[..12]}[/] ({summary.Model.Layout}, {summary.Model.InputWidth}x{summary.Model.InputHeight}) · output [link]{summary.Output}[/]");
                if (summary.Skipped > 0)
                {
                    AnsiConsole.MarkupLineInterpolated($"[grey]{summary.Skipped} non-image file(s) in the input were left alone[/]");
                }
            }

            return LabelExitCodes.Success;
        }
        catch (LabelRunException ex)
        {
            return CliErrors.Fail("label", ex.Message, ex.ExitCode);
        }
        catch (OperationCanceledException)
        {
            return CliErrors.Fail("label", "interrupted; decisions made so far are in the output manifests", 130);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return CliErrors.Fail("label", $"cannot write output: {ex.Message}", LabelExitCodes.Failure);
        }
    }

    private static DetectorFactory Factory(int inferenceThreads) => (modelPath, labelsPath) =>
        new OnnxDetector(new OnnxDetectorOptions { ModelPath = modelPath, LabelsPath = labelsPath, IntraOpThreads = inferenceThreads });

    private static LabelRunSummary RunWithProgressBar(LabelRunRequest request, DetectorFactory openDetector, CancellationToken cancellationToken)
    {
        LabelRunSummary? summary = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("labeling", autoStart: true, maxValue: 1);
                var progress = new SyncProgress<LabelRunProgress>(p =>
                {
                    task.MaxValue = p.Total;
                    task.Value = p.Done;
                    task.Description = $"labeling {p.Done}/{p.Total}";
                });
                summary = LabelRunner.Run(request, openDetector, progress, cancellationToken: cancellationToken);
                task.Value = task.MaxValue;
            });
        return summary!;
    }

    private static LabelRunSummary RunPlain(LabelRunRequest request, DetectorFactory openDetector, bool quiet, CancellationToken cancellationToken)
    {
        // Redirected output gets a line per 10% on stderr: readable in CI logs and it never mixes with --json.
        var lastDecile = -1;
        var progress = new SyncProgress<LabelRunProgress>(p =>
        {
            var decile = p.Done * 10 / p.Total;
            if (!quiet && decile != lastDecile)
            {
                lastDecile = decile;
                System.Console.Error.WriteLine($"labeled {p.Done}/{p.Total} images");
            }
        });
        return LabelRunner.Run(request, openDetector, progress, cancellationToken: cancellationToken);
    }

    private static Table SummaryTable(LabelRunSummary s)
    {
        var table = new Table().Title("edgelabel label").AddColumn("").AddColumn(new TableColumn("count").RightAligned()).AddColumn(new TableColumn("share").RightAligned());
        void Row(string name, int count) =>
            table.AddRow(name, count.ToString(CultureInfo.InvariantCulture), s.Images == 0 ? "-" : ((double)count / s.Images).ToString("P1", CultureInfo.InvariantCulture));

        Row("images", s.Images);
        Row("auto-label", s.AutoLabel);
        Row("human-review", s.HumanReview);
        Row("audit", s.Audit);
        Row("duplicate", s.Duplicate);
        Row("quarantine", s.Quarantine);
        table.AddRow("detections", s.Detections.ToString(CultureInfo.InvariantCulture), "");
        table.AddRow("images/s", s.ImagesPerSecond.ToString("0.0", CultureInfo.InvariantCulture), "");
        table.AddRow("elapsed", $"{s.ElapsedSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s", "");
        return table;
    }
}
