using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel merge --job-output FILE... --auto-labels FILE... --output FILE [--coco FILE] [--yolo DIR] [--label-attribute parts]</c>:
/// joins Ground Truth output manifests and edge auto-label batches into one dataset manifest (human labels
/// win) and COCO/YOLO exports, with the same core the merge Lambda and <c>edgelabel export</c> run. Each line's
/// label attribute is found from its <c>-metadata</c> (type groundtruth/object-detection) and mapped onto the
/// dataset's; the summary says what was mapped. The benchmarks project's <c>merge</c> command measures it.
/// Exit codes: 0 done, 1 unexpected failure, 2 bad arguments or an input of which nothing could be used.
/// </summary>
internal static class MergeCommand
{
    public static Command Create()
    {
        var jobOutput = new Option<FileInfo[]>("--job-output") { Description = "Ground Truth output.manifest file(s) of finished jobs.", AllowMultipleArgumentsPerToken = true };
        var autoLabels = new Option<FileInfo[]>("--auto-labels") { Description = "Auto-label batch file(s) from the edge (GT lines, human-annotated \"no\").", AllowMultipleArgumentsPerToken = true };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Dataset manifest to write (one line per image under one label attribute)." };
        var coco = new Option<FileInfo?>("--coco") { Description = "Also write a COCO JSON export here." };
        var yolo = new Option<DirectoryInfo?>("--yolo") { Description = "Also write a YOLO dataset (labels/*.txt, data.yaml) into this folder." };
        var attribute = new Option<string>("--label-attribute") { Description = "The dataset's label attribute; lines labeled under any other bounding-box attribute are mapped onto it.", DefaultValueFactory = _ => LabelingConventions.DefaultDatasetAttribute };
        var json = new Option<bool>("--json") { Description = "Print the build report as JSON." };

        var command = new Command("merge", "Merge Ground Truth job output and edge auto-labels into one dataset manifest (human labels win) plus COCO.")
        {
            jobOutput, autoLabels, output, coco, yolo, attribute, json,
        };
        command.SetAction((p, ct) => RunAsync(p.GetValue(jobOutput) ?? [], p.GetValue(autoLabels) ?? [], p.GetValue(output), p.GetValue(coco), p.GetValue(yolo), p.GetValue(attribute)!, p.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(FileInfo[] jobOutputs, FileInfo[] autoLabels, FileInfo? output, FileInfo? coco, DirectoryInfo? yolo, string attribute, bool json, CancellationToken ct)
    {
        if (output is null)
        {
            return CliErrors.Fail("merge", "--output FILE is required", 2);
        }

        if (jobOutputs.Length + autoLabels.Length == 0)
        {
            return CliErrors.Fail("merge", "give at least one --job-output or --auto-labels file", 2);
        }

        if (jobOutputs.Concat(autoLabels).FirstOrDefault(f => !f.Exists) is { } missing)
        {
            return CliErrors.Fail("merge", $"input file '{missing.FullName}' does not exist", 2);
        }

        try
        {
            GroundTruthManifest.ValidateLabelAttributeName(attribute);
        }
        catch (ArgumentException ex)
        {
            return CliErrors.Fail("merge", ex.Message, 2);
        }

        try
        {
            var request = new DatasetBuildRequest
            {
                DatasetAttribute = attribute,
                HumanSources = [.. jobOutputs.Select(f => ManifestSource.FromFile(f.FullName))],
                AutoLabelSources = [.. autoLabels.Select(f => ManifestSource.FromFile(f.FullName))],
                WorkDirectory = Path.GetTempPath(),
            };
            output.Directory?.Create();
            coco?.Directory?.Create();
            DatasetBuildReport report;
            await using (var ds = new FileStream(output.FullName, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            await using (var cs = coco is null ? null : new FileStream(coco.FullName, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                report = await new DatasetBuilder().BuildAsync(request, ds, cs, yolo?.FullName, ct);
            }

            if (json)
            {
                System.Console.Out.WriteLine(JsonSerializer.Serialize(report, MergeJsonContext.Default.DatasetBuildReport));
            }
            else
            {
                AnsiConsole.Write(Summary(report, output.FullName, coco?.FullName, attribute));
            }

            // An input of which nothing could be used is a mistake (wrong file, wrong kind of job), not an empty dataset.
            var useless = report.Sources.Where(s => s.NothingUsable).ToList();
            if (useless.Count > 0)
            {
                return CliErrors.Fail("merge", "nothing usable in " + string.Join(" | ", useless.Select(s => s.Describe(attribute))), 2);
            }

            return 0;
        }
        catch (IOException ex)
        {
            return CliErrors.Fail("merge", ex.Message, 2);
        }
        catch (UnauthorizedAccessException ex)
        {
            return CliErrors.Fail("merge", ex.Message, 2);
        }
    }

    internal static Table Summary(DatasetBuildReport r, string output, string? coco, string attribute)
    {
        var t = new Table().Title("edgelabel merge").AddColumn("").AddColumn(new TableColumn("").RightAligned());
        string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        t.AddRow("images in dataset", N(r.TotalImages));
        t.AddRow("  labeled by people", N(r.HumanImages));
        t.AddRow("  labeled by the model", N(r.ModelImages));
        t.AddRow("human label over model label (audit)", N(r.HumanOverModel));
        t.AddRow("duplicate lines dropped (human / model)", $"{N(r.DuplicateHumanLines)} / {N(r.DuplicateModelLines)}");
        t.AddRow("objects that came back unlabeled", N(r.UnlabeledLines));
        foreach (var (reason, count) in r.Skipped)
        {
            t.AddRow($"skipped: {Markup.Escape(reason)}", N(count));
        }

        t.AddRow("audit agreement: precision / recall", $"{AgreementSummary.Format(r.AuditAgreement.Precision)} / {AgreementSummary.Format(r.AuditAgreement.Recall)} over {N(r.AuditAgreement.Images)} images");
        t.AddRow("reviewed images: model precision / recall", $"{AgreementSummary.Format(r.ReviewedAgreement.Precision)} / {AgreementSummary.Format(r.ReviewedAgreement.Recall)} over {N(r.ReviewedAgreement.Images)} images");
        foreach (var source in r.Sources)
        {
            t.AddRow($"input ({source.Role})", Markup.Escape(source.Describe(attribute)));
        }

        t.AddRow("dataset", Markup.Escape(output));
        if (coco is not null)
        {
            t.AddRow("COCO", $"{Markup.Escape(coco)} ({N(r.CocoImages)} images, {N(r.CocoAnnotations)} boxes)");
        }

        return t;
    }
}
