using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Cli.Label;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Estimation;
using EdgeLabeling.Routing;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel estimate --images N [--review-share S | --from-run DIR] [--labelers 5] ...</c>: forecasts
/// Ground Truth cost, labeler hours, calendar days, bandwidth and jobs, against labeling everything by hand.
/// </summary>
internal static class EstimateCommand
{
    public static Command Create()
    {
        var images = new Option<long>("--images", "-n") { Description = "Images in the backlog.", Required = true };
        var share = new Option<double?>("--review-share") { Description = "Share of images routed to people (review + audit), 0-1." };
        var fromRun = new Option<DirectoryInfo?>("--from-run") { Description = "Output folder of `edgelabel label` or `edgelabel pipeline`: take the review share and image size from it." };
        var labelers = new Option<int>("--labelers") { Description = "People labeling.", DefaultValueFactory = _ => 5 };
        var hours = new Option<double>("--hours-per-day") { Description = "Labeling hours per person per day.", DefaultValueFactory = _ => 6 };
        var adjust = new Option<double>("--adjust-seconds") { Description = "Seconds to adjust pre-labels on one image.", DefaultValueFactory = _ => 20 };
        var draw = new Option<double>("--draw-seconds") { Description = "Seconds to draw all boxes on one image by hand.", DefaultValueFactory = _ => 35 };
        var workers = new Option<int>("--workers-per-object") { Description = "Labelers per image (NumberOfHumanWorkersPerDataObject).", DefaultValueFactory = _ => 1 };
        var availability = new Option<double>("--availability-days") { Description = "Task availability (expiry) in days; caps the job size.", DefaultValueFactory = _ => 3 };
        var imageBytes = new Option<long?>("--image-bytes") { Description = "Average image size in bytes (default 250000, or measured with --from-run)." };
        var tiers = new Option<string?>("--price-tiers") { Description = "Ground Truth per-object tiers 'upTo:usd,...' (last may be 'inf'); default 50000:0.08,1000000:0.04,inf:0.02 — check the live price page." };
        var free = new Option<long>("--free-objects") { Description = "Free-tier objects per month (500 for the first two months of a new account).", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the estimate as JSON." };

        var command = new Command("estimate", "Forecast the cost, people's hours, days, bandwidth and jobs of labeling a backlog, vs labeling everything by hand.")
        {
            images, share, fromRun, labelers, hours, adjust, draw, workers, availability, imageBytes, tiers, free, json,
        };
        command.SetAction((parse, ct) => Task.FromResult(Run(parse, images, share, fromRun, labelers, hours, adjust, draw, workers, availability, imageBytes, tiers, free, json)));
        return command;
    }

    private static int Run(ParseResult p, Option<long> images, Option<double?> share, Option<DirectoryInfo?> fromRun, Option<int> labelers, Option<double> hours, Option<double> adjust, Option<double> draw,
        Option<int> workers, Option<double> availability, Option<long?> imageBytes, Option<string?> tiers, Option<long> free, Option<bool> json)
    {
        try
        {
            var run = p.GetValue(fromRun);
            var givenShare = p.GetValue(share);
            if ((run is null) == (givenShare is null))
            {
                return CliErrors.Fail("estimate", "give exactly one of --review-share or --from-run", 2);
            }

            var (reviewShare, measuredBytes) = run is null ? (givenShare!.Value, (long?)null) : FromRun(run.FullName);
            var budget = new BudgetPolicy
            {
                Tiers = p.GetValue(tiers) is { } t ? PriceTier.ParseList(t) : new BudgetPolicy().Tiers,
                FreeObjectsPerMonth = p.GetValue(free),
                MonthlyBudgetUsd = decimal.MaxValue / 4,
            };
            var input = new EstimateInput
            {
                Images = p.GetValue(images),
                ReviewShare = reviewShare,
                Labelers = p.GetValue(labelers),
                HoursPerDay = p.GetValue(hours),
                AdjustSecondsPerImage = p.GetValue(adjust),
                DrawSecondsPerImage = p.GetValue(draw),
                WorkersPerObject = p.GetValue(workers),
                TaskAvailabilityDays = p.GetValue(availability),
                AverageImageBytes = p.GetValue(imageBytes) ?? measuredBytes ?? 250_000,
                Budget = budget,
            };
            var estimate = LabelingEstimator.Run(input);
            if (p.GetValue(json))
            {
                System.Console.Out.WriteLine(ToJson(estimate).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                Print(estimate);
            }

            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
        {
            return CliErrors.Fail("estimate", ex.Message, 2);
        }
    }

    /// <summary>Reads the review share (and the average image size, when the input folder is still there) from a run.</summary>
    internal static (double Share, long? AverageBytes) FromRun(string dir)
    {
        var summaryPath = Path.Combine(dir, "summary.json");
        var reportPath = Path.Combine(dir, "report.json");
        if (File.Exists(summaryPath))
        {
            var s = LabelRunSummary.Parse(File.ReadAllText(summaryPath));
            // Duplicates and quarantined files never reach people; the share is of the images that were decided on.
            var decided = s.AutoLabel + s.HumanReview + s.Audit;
            if (decided == 0)
            {
                throw new ArgumentException($"{summaryPath} has no auto-labeled or reviewed images to take a share from");
            }

            var share = (double)(s.HumanReview + s.Audit) / decided;
            long? avg = null;
            if (Directory.Exists(s.Input))
            {
                var sizes = Directory.EnumerateFiles(s.Input, "*", SearchOption.AllDirectories).Select(f => new FileInfo(f).Length).ToList();
                avg = sizes.Count == 0 ? null : (long)sizes.Average();
            }

            return (share, avg);
        }

        if (File.Exists(reportPath))
        {
            var node = JsonNode.Parse(File.ReadAllText(reportPath)) ?? throw new ArgumentException($"{reportPath} is empty");
            var share = node["edge"]?["reviewShare"]?.GetValue<double>() ?? throw new ArgumentException($"{reportPath} has no edge.reviewShare");
            var avg = node["edge"]?["averageImageBytes"]?.GetValue<long>();
            return (share, avg);
        }

        throw new ArgumentException($"'{dir}' has neither summary.json (from `edgelabel label`) nor report.json (from `edgelabel pipeline`)");
    }

    private static string Usd(decimal v) => v.ToString("$#,##0.00", CultureInfo.InvariantCulture);

    private static string Mb(long b) => (b / 1e6).ToString("#,##0.0", CultureInfo.InvariantCulture) + " MB";

    private static string N(double v) => v.ToString("#,##0.#", CultureInfo.InvariantCulture);

    private static void Print(Estimate e)
    {
        var t = new Table().Title($"Labeling {e.Input.Images:N0} images with {e.Input.Labelers} labelers ({e.Input.ReviewShare:P1} to people)");
        t.AddColumns("", "EdgeLabeling", "all by hand");
        t.AddRow("images to people", e.EdgeLabeling.ObjectsToPeople.ToString("N0", CultureInfo.InvariantCulture), e.AllByHand.ObjectsToPeople.ToString("N0", CultureInfo.InvariantCulture));
        t.AddRow("Ground Truth cost (forecast)", Usd(e.EdgeLabeling.GroundTruthUsd), Usd(e.AllByHand.GroundTruthUsd));
        t.AddRow("labeler hours", N(e.EdgeLabeling.LabelerHours), N(e.AllByHand.LabelerHours));
        t.AddRow("calendar days (team)", N(e.EdgeLabeling.CalendarDays), N(e.AllByHand.CalendarDays));
        t.AddRow("bytes uploaded", Mb(e.EdgeLabeling.UploadBytes), Mb(e.AllByHand.UploadBytes));
        t.AddRow("jobs (size cap)", $"{e.EdgeLabeling.Jobs} (≤ {e.JobSizeCap:N0})", $"{e.AllByHand.Jobs} (≤ {(e.AllByHand.JobSizes.Count > 0 ? e.AllByHand.JobSizes.Max() : 0):N0})");
        AnsiConsole.Write(t);
        AnsiConsole.MarkupLineInterpolated($"Saves {Usd(e.SavedUsd)} and {N(e.SavedHours)} labeler hours. Assumptions: {e.Input.AdjustSecondsPerImage:0.#} s to adjust vs {e.Input.DrawSecondsPerImage:0.#} s to draw an image, {e.Input.HoursPerDay:0.#} h/day, {LabelingEstimator.WorkingDaysPerMonth:0} working days a month, tiers reset monthly.");
    }

    internal static JsonObject ToJson(Estimate e)
    {
        JsonObject S(Scenario s) => new()
        {
            ["objectsToPeople"] = s.ObjectsToPeople,
            ["groundTruthUsd"] = s.GroundTruthUsd,
            ["labelerHours"] = Math.Round(s.LabelerHours, 2),
            ["calendarDays"] = Math.Round(s.CalendarDays, 2),
            ["uploadBytes"] = s.UploadBytes,
            ["jobs"] = s.Jobs,
            ["jobSizes"] = new JsonArray(s.JobSizes.Select(x => (JsonNode)x).ToArray()),
        };

        return new JsonObject
        {
            ["images"] = e.Input.Images,
            ["reviewShare"] = e.Input.ReviewShare,
            ["labelers"] = e.Input.Labelers,
            ["jobSizeCap"] = e.JobSizeCap,
            ["edgeLabeling"] = S(e.EdgeLabeling),
            ["allByHand"] = S(e.AllByHand),
            ["savedUsd"] = e.SavedUsd,
            ["savedLabelerHours"] = Math.Round(e.SavedHours, 2),
        };
    }
}
