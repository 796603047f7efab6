namespace EdgeLabeling.Cli.Pipeline;

/// <summary>What <c>edgelabel pipeline</c> was asked to do, with every path already resolved.</summary>
internal sealed record PipelineRequest
{
    public required string OutputDirectory { get; init; }
    public required string ModelPath { get; init; }
    public required string ImagesDirectory { get; init; }
    public required string LabelsDirectory { get; init; }

    /// <summary>S3-compatible endpoint; null runs on the embedded folder store under the output.</summary>
    public string? S3Endpoint { get; init; }

    public string? ConfigPath { get; init; }

    /// <summary>Seeds the audit draw on the edge (reproducible) and the simulated labelers (whose draws also depend on the job, named afresh each run).</summary>
    public int Seed { get; init; } = 7;

    public bool Json { get; init; }

    /// <summary><see cref="Simulated"/> (the default: a simulated Ground Truth workforce) or <see cref="People"/> (the review app on 127.0.0.1).</summary>
    public string Labelers { get; init; } = Simulated;

    /// <summary>Port of the review app with <see cref="People"/>; 0 picks a free one.</summary>
    public int ReviewPort { get; init; }

    /// <summary>The built review page (review-app/dist) with <see cref="People"/>.</summary>
    public string? ReviewWebRoot { get; init; }

    /// <summary>Called with the review URL (token included) once the review app listens.</summary>
    public Action<Uri>? OnReviewReady { get; init; }

    public const string Simulated = "simulated";
    public const string People = "people";
}

/// <summary>Bad input the user can fix (exit code 2).</summary>
internal sealed class PipelineInputException(string message) : Exception(message);

/// <summary>A stage that could not finish (exit code 1), with the stage named in the message.</summary>
internal sealed class PipelineStageException(string stage, string message, Exception? inner = null) : Exception($"{stage}: {message}", inner)
{
    public string Stage { get; } = stage;
}

/// <summary>
/// Finds the shipped samples so the command works from the repository root, from a subfolder, or through
/// <c>dotnet run</c>: the current directory and then the executable's folder are walked up until
/// <c>samples/models</c> appears.
/// </summary>
internal static class SamplePaths
{
    public const string DefaultModel = "samples/models/parts-detector.onnx";
    public const string DefaultImages = "samples/images";

    public static string? FindRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (Directory.Exists(Path.Combine(dir.FullName, "samples", "models")))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }

    /// <summary>A given path is taken as is (relative to the current directory); a default is looked up under the samples root.</summary>
    public static string Resolve(string? given, string fallbackRelative)
    {
        if (!string.IsNullOrWhiteSpace(given))
        {
            return Path.GetFullPath(given);
        }

        var root = FindRoot();
        return Path.GetFullPath(root is null ? fallbackRelative : Path.Combine(root, fallbackRelative));
    }

    /// <summary>
    /// Ground truth for the images: the given folder, else a <c>labels</c> folder beside the images folder
    /// (the samples' layout), else the shipped sample labels when the images are the shipped ones.
    /// </summary>
    public static string ResolveLabels(string? given, string imagesDirectory)
    {
        if (!string.IsNullOrWhiteSpace(given))
        {
            return Path.GetFullPath(given);
        }

        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(imagesDirectory));
        var sibling = parent is null ? null : Path.Combine(parent, "labels");
        if (sibling is not null && Directory.Exists(sibling))
        {
            return sibling;
        }

        throw new PipelineInputException($"no ground-truth labels for '{imagesDirectory}': give --labels DIR (YOLO <image-stem>.txt files); the simulated labelers and the quality report need them");
    }
}
