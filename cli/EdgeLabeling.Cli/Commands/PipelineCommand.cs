using System.CommandLine;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Cli.Pipeline;
using EdgeLabeling.Inference;
using EdgeLabeling.Routing;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel pipeline [--output DIR] [--model M] [--images DIR] [--labels DIR] [--s3-endpoint URL] [--config FILE] [--seed N] [--json]</c>:
/// the whole loop on this machine — edge component, object store, ingest/batch Lambdas, simulated Ground Truth,
/// merge Lambda — ending with report.md, report.json and PNG charts.
/// Exit codes: 0 done, 1 a stage failed, 2 bad input or configuration, 3 model error, 130 interrupted.
/// </summary>
internal static class PipelineCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo?>("--output", "-o") { Description = "Where the report, charts, dataset and working folders go (default out/pipeline)." };
        var model = new Option<FileInfo?>("--model", "-m") { Description = "ONNX detector (default samples/models/parts-detector.onnx)." };
        var images = new Option<DirectoryInfo?>("--images", "-i") { Description = "Images to run through the loop (default samples/images)." };
        var labels = new Option<DirectoryInfo?>("--labels") { Description = "Ground truth, YOLO <stem>.txt (default: the 'labels' folder beside --images)." };
        var s3 = new Option<string?>("--s3-endpoint") { Description = "S3-compatible endpoint (or env S3_ENDPOINT) instead of the embedded folder store; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY." };
        var config = new Option<FileInfo?>("--config", "-c") { Description = "JSON with optional sections routing, edge, cloud, workforce (see cli/EdgeLabeling.Cli/Pipeline/README.md)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the audit draw and the simulated labelers.", DefaultValueFactory = _ => 7 };
        var json = new Option<bool>("--json") { Description = "Print report.json on stdout (progress goes to stderr)." };
        var labelers = new Option<string>("--labelers") { Description = "simulated (default): a simulated Ground Truth workforce labels; people: stop after batching, serve the review app on 127.0.0.1 and merge each job as you finish it.", DefaultValueFactory = _ => PipelineRequest.Simulated };
        labelers.AcceptOnlyFromAmong(PipelineRequest.Simulated, PipelineRequest.People);
        var port = new Option<int>("--port") { Description = "Port of the review app with --labelers people (default: a free one)." };

        var command = new Command("pipeline", "Run the whole loop locally: edge inference and upload, S3-triggered batching into Ground Truth jobs (simulated labelers), merge, quality and cost report.")
        {
            output, model, images, labels, s3, config, seed, json, labelers, port,
        };
        command.SetAction((parse, ct) => RunAsync(parse, output, model, images, labels, s3, config, seed, json, ct, labelers, port));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult p, Option<DirectoryInfo?> output, Option<FileInfo?> model, Option<DirectoryInfo?> images, Option<DirectoryInfo?> labels,
        Option<string?> s3, Option<FileInfo?> config, Option<int> seed, Option<bool> json, CancellationToken ct, Option<string> labelers, Option<int> port)
    {
        try
        {
            var imagesDir = SamplePaths.Resolve(p.GetValue(images)?.FullName, SamplePaths.DefaultImages);
            EdgeStage.ImageFiles(imagesDir);
            var endpoint = p.GetValue(s3) ?? Environment.GetEnvironmentVariable("S3_ENDPOINT");
            var request = new PipelineRequest
            {
                OutputDirectory = Path.GetFullPath(p.GetValue(output)?.FullName ?? Path.Combine("out", "pipeline")),
                ModelPath = SamplePaths.Resolve(p.GetValue(model)?.FullName, SamplePaths.DefaultModel),
                ImagesDirectory = imagesDir,
                LabelsDirectory = SamplePaths.ResolveLabels(p.GetValue(labels)?.FullName, imagesDir),
                S3Endpoint = string.IsNullOrWhiteSpace(endpoint) ? null : endpoint.Trim(),
                ConfigPath = p.GetValue(config)?.FullName,
                Seed = p.GetValue(seed),
                Json = p.GetValue(json),
                Labelers = p.GetValue(labelers) ?? PipelineRequest.Simulated,
                ReviewPort = p.GetValue(port),
                ReviewWebRoot = Review.ReviewWebRoot.Find(),
            };

            PipelineResult result;
            if (request.Json || System.Console.IsOutputRedirected)
            {
                // Plain lines on stderr: readable in CI logs, and they never mix with the JSON on stdout.
                result = await PipelineRunner.RunAsync(request, new PlainProgress(System.Console.Error), ct).ConfigureAwait(false);
            }
            else
            {
                PipelineResult? done = null;
                await AnsiConsole.Status().StartAsync("starting", async ctx =>
                {
                    done = await PipelineRunner.RunAsync(request, new SpectreProgress(ctx), ct).ConfigureAwait(false);
                }).ConfigureAwait(false);
                result = done!;
            }

            if (request.Json)
            {
                System.Console.Out.WriteLine(PipelineReportWriter.ToJson(result).ToJsonString());
            }
            else
            {
                AnsiConsole.Write(PipelineReportWriter.Table(result));
                AnsiConsole.MarkupLineInterpolated($"report: [link]{Path.Combine(request.OutputDirectory, "report.md")}[/] · dataset: {result.Dataset.ManifestPath}");
            }

            return 0;
        }
        catch (PipelineInputException ex)
        {
            return CliErrors.Fail("pipeline", ex.Message, 2);
        }
        catch (RoutingConfigException ex)
        {
            return CliErrors.Fail("pipeline", "routing config: " + ex.Message, 2);
        }
        catch (ModelLoadException ex)
        {
            return CliErrors.Fail("pipeline", ex.Message, 3);
        }
        catch (PipelineStageException ex)
        {
            return CliErrors.Fail("pipeline", ex.Message, 1);
        }
        catch (OperationCanceledException)
        {
            return CliErrors.Fail("pipeline", "interrupted", 130);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return CliErrors.Fail("pipeline", $"file error: {ex.Message}", 1);
        }
    }
}
