using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Cli.Commands;
using EdgeLabeling.Cli.Reporting;
using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;
using EdgeLabeling.Labeling.Merge;
using Spectre.Console;

namespace EdgeLabeling.Cli.Pipeline;

/// <summary>The pipeline's report: report.json (read back by <c>estimate --from-run</c>), report.md, PNG charts and the terminal table.</summary>
internal static class PipelineReportWriter
{
    public static readonly (string File, string Title)[] ChartFiles =
    [
        ("routing-outcomes.png", "Routing outcomes on the edge"),
        ("bytes-uploaded.png", "Bytes uploaded vs uploading everything"),
        ("cost-vs-by-hand.png", "Ground Truth cost vs labeling everything by hand"),
        ("labeler-hours.png", "Labeler hours vs labeling everything by hand"),
        ("dataset-quality.png", "Dataset quality against ground truth"),
    ];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string ChartPath(PipelineResult r, string file) => Path.Combine(r.Request.OutputDirectory, "charts", file);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    public static void WriteCharts(PipelineResult r)
    {
        Directory.CreateDirectory(Path.Combine(r.Request.OutputDirectory, "charts"));
        var e = r.Edge;
        Charts.Bars(ChartPath(r, ChartFiles[0].File), $"Routing of {e.Images} images on the edge", "images",
        [
            ("auto-label", e.Count(RoutingOutcome.AutoLabel)),
            ("review", e.Count(RoutingOutcome.HumanReview)),
            ("audit", e.Count(RoutingOutcome.Audit)),
            ("duplicate", e.Count(RoutingOutcome.Duplicate)),
            ("quarantine", e.Count(RoutingOutcome.Quarantine)),
        ]);
        Charts.Bars(ChartPath(r, ChartFiles[1].File), "Bytes sent from the site", "MB",
        [
            ("EdgeLabeling (this run)", e.BytesUploaded / 1e6),
            ("upload everything", e.InputBytes / 1e6),
        ]);
        var b = r.Backlog;
        Charts.Bars(ChartPath(r, ChartFiles[2].File), Inv($"Ground Truth cost for {b.Input.Images:N0} images ({b.Input.ReviewShare:P0} to people, as measured)"), "USD (forecast)",
        [
            ("EdgeLabeling", (double)b.EdgeLabeling.GroundTruthUsd),
            ("all by hand", (double)b.AllByHand.GroundTruthUsd),
        ]);
        Charts.Bars(ChartPath(r, ChartFiles[3].File), Inv($"Labeler hours for {b.Input.Images:N0} images ({b.Input.Labelers} labelers)"), "hours",
        [
            ("EdgeLabeling", b.EdgeLabeling.LabelerHours),
            ("all by hand", b.AllByHand.LabelerHours),
        ]);
        var q = r.Quality;
        Charts.Bars(ChartPath(r, ChartFiles[4].File), "mAP@0.5 against the samples' ground truth", "mAP@0.5",
        [
            ("merged dataset", Safe(q.Merged.Map50)),
            ("automatic labels alone", Safe(q.Automatic.Map50)),
            ("model on every image", Safe(q.ModelOnly.Map50)),
        ]);
    }

    private static double Safe(double v) => double.IsFinite(v) ? v : 0;

    private static JsonNode? Num(double v, int digits = 4) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, digits)) : null;

    private static JsonObject Score(QualityScore s) => new()
    {
        ["images"] = s.Images,
        ["precision"] = Num(s.Precision),
        ["recall"] = Num(s.Recall),
        ["map50"] = Num(s.Map50),
        ["truePositives"] = s.Counts.TruePositives,
        ["falsePositives"] = s.Counts.FalsePositives,
        ["falseNegatives"] = s.Counts.FalseNegatives,
    };

    public static JsonObject ToJson(PipelineResult r)
    {
        var e = r.Edge;
        var jobs = new JsonArray();
        foreach (var j in r.Jobs)
        {
            jobs.Add(new JsonObject
            {
                ["name"] = j.Name,
                ["items"] = j.Items,
                ["taskType"] = j.Adjustment ? "AdjustmentBoundingBox" : "BoundingBox",
                ["forecastUsd"] = j.ForecastUsd,
                ["status"] = j.Status,
                ["labeled"] = j.Labeled,
                ["returnedToPending"] = j.Returned,
            });
        }

        var timings = new JsonObject();
        foreach (var (stage, elapsed) in r.Timings)
        {
            timings[stage] = Math.Round(elapsed.TotalSeconds, 2);
        }

        var charts = new JsonObject();
        foreach (var (file, _) in ChartFiles)
        {
            charts[Path.GetFileNameWithoutExtension(file)] = ChartPath(r, file);
        }

        return new JsonObject
        {
            ["startedUtc"] = r.StartedUtc,
            ["output"] = r.Request.OutputDirectory,
            ["seed"] = r.Request.Seed,
            ["model"] = new JsonObject
            {
                ["path"] = r.Model.ModelPath,
                ["sha256"] = r.Model.ModelSha256,
                ["layout"] = r.Model.Layout,
                ["classNames"] = new JsonArray(r.Model.ClassNames.Select(n => (JsonNode)n).ToArray()),
            },
            ["objectStore"] = new JsonObject
            {
                ["kind"] = r.Store.Kind,
                ["location"] = r.Store.Location,
                ["incomingBucket"] = r.Store.IncomingBucket,
                ["dataBucket"] = r.Store.DataBucket,
            },
            ["edge"] = new JsonObject
            {
                ["thingName"] = e.ThingName,
                ["images"] = e.Images,
                ["autoLabel"] = e.Count(RoutingOutcome.AutoLabel),
                ["humanReview"] = e.Count(RoutingOutcome.HumanReview),
                ["audit"] = e.Count(RoutingOutcome.Audit),
                ["duplicate"] = e.Count(RoutingOutcome.Duplicate),
                ["quarantine"] = e.Count(RoutingOutcome.Quarantine),
                ["reviewShare"] = Math.Round(e.ReviewShare, 4),
                ["averageImageBytes"] = e.AverageImageBytes,
                ["bytesUploaded"] = e.BytesUploaded,
                ["uploadEverythingBytes"] = e.InputBytes,
                ["uploadedShare"] = Num(e.InputBytes == 0 ? double.NaN : (double)e.BytesUploaded / e.InputBytes),
                ["objectsUploaded"] = e.ObjectsUploaded,
                ["drops"] = e.Drops,
            },
            ["cloud"] = new JsonObject
            {
                ["ingest"] = new JsonObject
                {
                    ["objects"] = r.Ingest.Objects,
                    ["sqsMessages"] = r.Ingest.Messages,
                    ["invocations"] = r.Ingest.Invocations,
                    ["redelivered"] = r.Ingest.Redelivered,
                    ["deadLettered"] = r.Ingest.DeadLettered,
                },
                ["batching"] = new JsonObject
                {
                    ["minItems"] = r.BatchMinItems,
                    ["maxAgeMinutes"] = r.BatchMaxAgeMinutes,
                    ["scheduledRuns"] = r.BatchDecisions.Count,
                    ["decisions"] = new JsonArray(r.BatchDecisions.Distinct().Select(d => (JsonNode)d).ToArray()),
                    ["simulatedMinutesAdvanced"] = Math.Round(r.SimulatedTimeAdvanced.TotalMinutes, 1),
                },
                ["jobsCreated"] = r.Jobs.Count,
                ["jobSizes"] = new JsonArray(r.Jobs.Select(j => (JsonNode)j.Items).ToArray()),
                ["imagesInJobs"] = r.Jobs.Sum(j => j.Items),
                ["labeledByPeople"] = r.Jobs.Sum(j => j.Labeled),
                ["returnedToPending"] = r.Jobs.Sum(j => j.Returned),
                ["pendingAtEnd"] = r.PendingAtEnd,
                ["forecastUsd"] = r.Jobs.Sum(j => j.ForecastUsd),
                ["jobs"] = jobs,
            },
            ["dataset"] = new JsonObject
            {
                ["manifest"] = r.Dataset.ManifestPath,
                ["coco"] = r.Dataset.CocoPath,
                ["lines"] = r.Dataset.Lines,
                ["humanLines"] = r.Dataset.HumanLines,
                ["modelLines"] = r.Dataset.ModelLines,
                ["cocoImages"] = r.Dataset.CocoImages,
                ["cocoAnnotations"] = r.Dataset.CocoAnnotations,
                ["build"] = r.Dataset.Build is null ? null : JsonSerializer.SerializeToNode(r.Dataset.Build, MergeJsonContext.Default.DatasetBuildReport),
            },
            ["quality"] = new JsonObject
            {
                ["iou"] = r.Quality.Iou,
                ["ranking"] = QualityReport.Ranking,
                ["merged"] = Score(r.Quality.Merged),
                ["automatic"] = Score(r.Quality.Automatic),
                ["modelOnly"] = Score(r.Quality.ModelOnly),
                ["linesWithoutSample"] = r.Quality.LinesWithoutSample,
            },
            ["estimate"] = new JsonObject
            {
                ["thisRun"] = EstimateCommand.ToJson(r.ThisRun),
                ["backlog"] = EstimateCommand.ToJson(r.Backlog),
            },
            ["charts"] = charts,
            ["timingsSeconds"] = timings,
            ["fleet"] = r.Fleet is null ? null : PipelineFleet.ToJson(r.Fleet),
            ["productionPrecision"] = r.Precision is null ? null : PipelinePrecision.ToJson(r.Precision),
        };
    }

    public static void WriteFiles(PipelineResult r)
    {
        File.WriteAllText(Path.Combine(r.Request.OutputDirectory, "report.json"), ToJson(r).ToJsonString(Indented) + "\n");
        File.WriteAllText(Path.Combine(r.Request.OutputDirectory, "report.md"), Markdown(r));
    }

    private static string P(double v) => double.IsFinite(v) ? (v * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "n/a";

    private static string F3(double v) => double.IsFinite(v) ? v.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";

    private static string Usd(decimal v) => v.ToString("$#,##0.00", CultureInfo.InvariantCulture);

    private static string N(double v) => v.ToString(v < 10 ? "0.##" : "#,##0.#", CultureInfo.InvariantCulture);

    /// <summary>The headline rows shared by the terminal table and report.md.</summary>
    public static IReadOnlyList<(string Name, string Value)> Headline(PipelineResult r)
    {
        var e = r.Edge;
        var b = r.Backlog;
        var t = r.ThisRun;
        string Share(RoutingOutcome o) => $"{e.Count(o)} ({P(e.Images == 0 ? 0 : (double)e.Count(o) / e.Images)})";
        return
        [
            ("images", e.Images.ToString(CultureInfo.InvariantCulture)),
            ("auto-labeled", Share(RoutingOutcome.AutoLabel)),
            ("human review", Share(RoutingOutcome.HumanReview)),
            ("audit", Share(RoutingOutcome.Audit)),
            ("duplicates", Share(RoutingOutcome.Duplicate)),
            ("quarantined", Share(RoutingOutcome.Quarantine)),
            ("bytes uploaded vs upload everything", $"{PipelineRunner.Mb(e.BytesUploaded)} vs {PipelineRunner.Mb(e.InputBytes)} ({P(e.InputBytes == 0 ? double.NaN : (double)e.BytesUploaded / e.InputBytes)})"),
            ("Ground Truth jobs (sizes)", r.Jobs.Count == 0 ? "0" : $"{r.Jobs.Count} ({string.Join(", ", r.Jobs.Select(j => j.Items))})"),
            ("labeled by people / back to pending", $"{r.Jobs.Sum(j => j.Labeled)} / {r.Jobs.Sum(j => j.Returned)}"),
            ("dataset lines (human / automatic)", $"{r.Dataset.Lines} ({r.Dataset.HumanLines} / {r.Dataset.ModelLines})"),
            ("GT cost forecast, this run vs all by hand", $"{Usd(t.EdgeLabeling.GroundTruthUsd)} vs {Usd(t.AllByHand.GroundTruthUsd)}"),
            ("labeler hours, this run vs all by hand", $"{N(t.EdgeLabeling.LabelerHours)} vs {N(t.AllByHand.LabelerHours)}"),
            (Inv($"GT cost forecast, {b.Input.Images:N0} images"), $"{Usd(b.EdgeLabeling.GroundTruthUsd)} vs {Usd(b.AllByHand.GroundTruthUsd)} by hand"),
            (Inv($"labeler hours, {b.Input.Images:N0} images"), $"{N(b.EdgeLabeling.LabelerHours)} vs {N(b.AllByHand.LabelerHours)} by hand ({N(b.EdgeLabeling.CalendarDays)} vs {N(b.AllByHand.CalendarDays)} team days)"),
            ("merged labels: precision / recall / mAP@0.5", $"{P(r.Quality.Merged.Precision)} / {P(r.Quality.Merged.Recall)} / {F3(r.Quality.Merged.Map50)}"),
            ("automatic labels alone", $"{P(r.Quality.Automatic.Precision)} / {P(r.Quality.Automatic.Recall)} / {F3(r.Quality.Automatic.Map50)} ({r.Quality.Automatic.Images} images)"),
            ("model on every dataset image", $"{P(r.Quality.ModelOnly.Precision)} / {P(r.Quality.ModelOnly.Recall)} / {F3(r.Quality.ModelOnly.Map50)}"),
            ("wall time", string.Join(", ", r.Timings.Select(x => $"{x.Stage} {x.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s"))),
        ];
    }

    public static Table Table(PipelineResult r)
    {
        var table = new Table().Title($"edgelabel pipeline ({r.Store.Kind} object store)").AddColumn("").AddColumn("").HideHeaders();
        foreach (var (name, value) in Headline(r))
        {
            table.AddRow(Markup.Escape(name), Markup.Escape(value));
        }

        return table;
    }

    public static string Markdown(PipelineResult r)
    {
        var sb = new StringBuilder();
        void L(string line = "") => sb.Append(line).Append('\n');
        L("# EdgeLabeling pipeline report");
        L();
        L($"Run {r.StartedUtc:yyyy-MM-dd HH:mm} UTC · model `{Path.GetFileName(r.Model.ModelPath)}` ({r.Model.ModelSha256[..12]}, {r.Model.Layout}, classes {string.Join(", ", r.Model.ClassNames)}) · "
            + $"object store: {r.Store.Kind} ({r.Store.Location}; buckets `{r.Store.IncomingBucket}`, `{r.Store.DataBucket}`) · seed {r.Request.Seed}.");
        L();
        L("The Ground Truth service and its five labelers are **simulated** (SageMaker API emulator + a simulated workforce answering from the samples' ground truth with a little noise); everything else is the real code: edge component, object store, ingest/batch/merge Lambda handlers fed AWS-format events.");
        L();
        L("| | |");
        L("|---|---|");
        foreach (var (name, value) in Headline(r))
        {
            L($"| {name} | {value.Replace("|", "\\|", StringComparison.Ordinal)} |");
        }

        L();
        L("## Ground Truth jobs");
        L();
        L($"Batching: a job once {r.BatchMinItems} images are pending, or when the oldest has waited {r.BatchMaxAgeMinutes:0} min (the run advances a simulated clock by {r.SimulatedTimeAdvanced.TotalMinutes:0} min for that rule).");
        L();
        L("| job | task type | images | forecast | status | labeled | back to pending |");
        L("|---|---|---:|---:|---|---:|---:|");
        foreach (var j in r.Jobs)
        {
            L($"| {j.Name} | {(j.Adjustment ? "AdjustmentBoundingBox" : "BoundingBox")} | {j.Items} | {Usd(j.ForecastUsd)} | {j.Status} | {j.Labeled} | {j.Returned} |");
        }

        L();
        L("## Dataset quality (IoU 0.5)");
        L();
        L("| labels | images | precision | recall | mAP@0.5 | TP | FP | FN |");
        L("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, s) in new[] { ("merged dataset", r.Quality.Merged), ("automatic labels alone", r.Quality.Automatic), ("model on every dataset image", r.Quality.ModelOnly) })
        {
            L($"| {name} | {s.Images} | {P(s.Precision)} | {P(s.Recall)} | {F3(s.Map50)} | {s.Counts.TruePositives} | {s.Counts.FalsePositives} | {s.Counts.FalseNegatives} |");
        }

        L();
        L($"Ranking for mAP: {QualityReport.Ranking}. Images that are not in the dataset (duplicates, quarantined, tasks that expired) are not scored.");
        L();
        L("## Forecast");
        L();
        foreach (var (title, est) in new[] { ("This run", r.ThisRun), (Inv($"Backlog of {r.Backlog.Input.Images:N0} images at this run's review share"), r.Backlog) })
        {
            L($"**{title}** ({P(est.Input.ReviewShare)} to people, {est.Input.Labelers} labelers, {est.Input.AdjustSecondsPerImage:0} s to adjust vs {est.Input.DrawSecondsPerImage:0} s to draw an image):");
            L();
            L("| | EdgeLabeling | all by hand |");
            L("|---|---:|---:|");
            L($"| images to people | {est.EdgeLabeling.ObjectsToPeople:N0} | {est.AllByHand.ObjectsToPeople:N0} |");
            L($"| Ground Truth cost | {Usd(est.EdgeLabeling.GroundTruthUsd)} | {Usd(est.AllByHand.GroundTruthUsd)} |");
            L($"| labeler hours | {N(est.EdgeLabeling.LabelerHours)} | {N(est.AllByHand.LabelerHours)} |");
            L($"| team calendar days | {N(est.EdgeLabeling.CalendarDays)} | {N(est.AllByHand.CalendarDays)} |");
            L($"| bytes uploaded | {PipelineRunner.Mb(est.EdgeLabeling.UploadBytes)} | {PipelineRunner.Mb(est.AllByHand.UploadBytes)} |");
            L();
        }

        L("Prices are the commonly quoted Ground Truth tiers (not verified against the live price page); change them with `--config` (`cloud.PRICE_TIERS`).");
        L();
        if (r.Fleet is not null)
        {
            PipelineFleet.AppendMarkdown(sb, r.Fleet);
        }

        PipelinePrecision.AppendMarkdown(sb, r.Precision);

        L("## Charts");
        L();
        foreach (var (file, title) in ChartFiles)
        {
            L($"![{title}](charts/{file})");
        }

        L();
        L("## Files");
        L();
        L("- `dataset/dataset.manifest` — Ground Truth augmented manifest, one line per image; `dataset/coco.json` — COCO export");
        L("- `edge/component.log`, `edge/work/status.json` — the edge component's log and last status; `cloud/metrics.emf.jsonl` — the Lambdas' EMF metrics");
        L("- `object-store/` (embedded store only) — the buckets as folders");
        return sb.ToString();
    }
}
