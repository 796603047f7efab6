using System.Globalization;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Batching;
using Env = EdgeLabeling.Contracts.LambdaEnvironment;

namespace EdgeLabeling.Labeling;

/// <summary>
/// Everything the labeling handlers, the CLI and the tests configure. Read from environment variables
/// by <see cref="FromEnvironment"/>; the variable names (documented in lambdas/README.md) are what the
/// infrastructure sets on the functions.
/// </summary>
public sealed record LabelingOptions
{
    /// <summary>AWS Region of SageMaker and of the built-in Ground Truth Lambdas.</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>Bucket the edge uploads images and sidecars to; events from other buckets are dropped. Null accepts any.</summary>
    public string? IncomingBucket { get; init; }

    /// <summary>Bucket for job inputs (jobs/input/), GT output (jobs/output/) and the dataset.</summary>
    public string DataBucket { get; init; } = "edgelabeling-data";

    /// <summary>DynamoDB table of the pending store; null uses the SQLite store at <see cref="PendingDbPath"/>.</summary>
    public string? TableName { get; init; }

    public string PendingDbPath { get; init; } = Path.Combine(Path.GetTempPath(), "edgelabel-pending.db");

    /// <summary>Endpoint override for S3 (radosgw); null means AWS.</summary>
    public string? S3Endpoint { get; init; }

    /// <summary>Folder of a <see cref="Storage.FileSystemObjectStore"/> used instead of S3 (local runs, dry runs).</summary>
    public string? LocalStoreRoot { get; init; }

    /// <summary>Endpoint override for SageMaker (the local emulator); null means AWS.</summary>
    public string? SageMakerEndpoint { get; init; }

    /// <summary>Endpoint override for DynamoDB (DynamoDB Local); null means AWS.</summary>
    public string? DynamoDbEndpoint { get; init; }

    public string WorkteamArn { get; init; } = "";
    public string GroundTruthRoleArn { get; init; } = "";
    public string? KmsKeyId { get; init; }

    /// <summary>The dataset's label attribute; the prior is "{attr}-model", the human job's "{attr}-human".</summary>
    public string LabelAttribute { get; init; } = LabelingConventions.DefaultDatasetAttribute;

    /// <summary>Labels that always come first in the category file (their order fixes class ids); sidecar classes are appended.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = [];

    public BatchingPolicy Batching { get; init; } = new();

    public BudgetPolicy Budget { get; init; } = new();

    public HumanTaskSettings Task { get; init; } = new();

    /// <summary>
    /// Who labels the jobs: <see cref="LabelingBackends.GroundTruth"/> (SageMaker Ground Truth) or
    /// <see cref="LabelingBackends.BuiltIn"/> (the review app over the task store, EdgeLabeling.Review).
    /// </summary>
    public string Backend { get; init; } = LabelingBackends.GroundTruth;

    /// <summary>Tags put on every labeling job (besides the batch id tag).</summary>
    public IReadOnlyDictionary<string, string> JobTags { get; init; } = new Dictionary<string, string> { ["project"] = "edgelabeling" };

    /// <summary>Window and sample floor of the production precision the merge reports.</summary>
    public Quality.ProductionPrecisionOptions ProductionPrecision { get; init; } = new();

    /// <summary>
    /// Reads options from environment variables (see lambdas/README.md); unknown or malformed values throw naming the variable.
    /// <paramref name="labelingStoresRequired"/> is false for the fleet functions, which use the object store and
    /// metrics but neither the pending table nor the data bucket.
    /// </summary>
    public static LabelingOptions FromEnvironment(Func<string, string?>? get = null, bool labelingStoresRequired = true)
    {
        get ??= Environment.GetEnvironmentVariable;
        string? Str(string name) => get(name) is { Length: > 0 } v ? v.Trim() : null;
        int Int(string name, int fallback) => Parse(name, Str(name), fallback, s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture));
        double Dbl(string name, double fallback) => Parse(name, Str(name), fallback, s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture));
        decimal Dec(string name, decimal fallback) => Parse(name, Str(name), fallback, s => decimal.Parse(s, NumberStyles.Number, CultureInfo.InvariantCulture));

        var onLambda = Str(Env.LambdaFunctionName) is not null || Str(Env.LambdaExecutionEnv) is not null;
        if (onLambda && labelingStoresRequired)
        {
            // On Lambda a missing table would silently fall back to a SQLite file in this instance's /tmp
            // (items lost with the instance) and a missing bucket to a placeholder name: fail the cold start.
            var missing = new[] { Env.TableName, Env.DataBucket }.Where(n => Str(n) is null).ToList();
            if (missing.Count > 0)
            {
                throw new InvalidOperationException(
                    $"running on AWS Lambda ({Env.LambdaFunctionName}={Str(Env.LambdaFunctionName) ?? "?"}) without {string.Join(" and ", missing)}: " +
                    "the deployed functions need the DynamoDB table and the data bucket; the SQLite-in-/tmp fallback is for local runs only");
            }
        }

        var defaults = new LabelingOptions();
        var backend = LabelingBackends.Parse(Str(Env.LabelingBackend));
        var options = new LabelingOptions
        {
            Region = Str(Env.Region) ?? Str(Env.DefaultRegion) ?? defaults.Region,
            IncomingBucket = Str(Env.IncomingBucket),
            DataBucket = Str(Env.DataBucket) ?? defaults.DataBucket,
            TableName = Str(Env.TableName),
            PendingDbPath = Str(Env.PendingDbPath) ?? defaults.PendingDbPath,
            S3Endpoint = Str(Env.S3Endpoint),
            LocalStoreRoot = Str(Env.LocalStoreRoot),
            SageMakerEndpoint = Str(Env.SageMakerEndpoint),
            DynamoDbEndpoint = Str(Env.DynamoDbEndpoint),
            WorkteamArn = Str(Env.WorkteamArn) ?? "",
            GroundTruthRoleArn = Str(Env.GroundTruthRoleArn) ?? "",
            KmsKeyId = Str(Env.KmsKeyId),
            LabelAttribute = Str(Env.LabelAttribute) ?? defaults.LabelAttribute,
            ClassNames = Str(Env.ClassNames)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
            Batching = new BatchingPolicy
            {
                MinItems = Int(Env.BatchMinItems, defaults.Batching.MinItems),
                MaxAge = TimeSpan.FromMinutes(Dbl(Env.BatchMaxAgeMinutes, defaults.Batching.MaxAge.TotalMinutes)),
                Labelers = Int(Env.Labelers, defaults.Batching.Labelers),
                HoursPerDay = Dbl(Env.LabelerHoursPerDay, defaults.Batching.HoursPerDay),
                TaskAvailabilityDays = Dbl(Env.TaskAvailabilityDays, defaults.Batching.TaskAvailabilityDays),
                SecondsPerImage = Dbl(Env.SecondsPerImage, defaults.Batching.SecondsPerImage),
                MaxItemsPerJob = Int(Env.MaxItemsPerJob, defaults.Batching.MaxItemsPerJob),
                MaxJobsPerRun = Int(Env.MaxJobsPerRun, defaults.Batching.MaxJobsPerRun),
                JobNamePrefix = Str(Env.JobNamePrefix) ?? defaults.Batching.JobNamePrefix,
                ResumeAfter = TimeSpan.FromMinutes(Dbl(Env.BatchResumeAfterMinutes, defaults.Batching.ResumeAfter.TotalMinutes)),
                HalfPairAlarmAfter = TimeSpan.FromMinutes(Dbl(Env.HalfPairAlarmMinutes, defaults.Batching.HalfPairAlarmAfter.TotalMinutes)),
                SetAsideAfterReturns = Int(Env.SetAsideAfterReturns, defaults.Batching.SetAsideAfterReturns),
            },
            Budget = new BudgetPolicy
            {
                MonthlyBudgetUsd = Dec(Env.MonthlyBudgetUsd, defaults.Budget.MonthlyBudgetUsd),
                // The built-in backend costs nothing per object: budget and forecasts see a price of 0.
                Tiers = Str(Env.PriceTiers) is { } tiers ? PriceTier.ParseList(tiers) : backend == LabelingBackends.BuiltIn ? LabelingBackends.FreeTiers : defaults.Budget.Tiers,
                FreeObjectsPerMonth = Int(Env.FreeObjectsPerMonth, (int)defaults.Budget.FreeObjectsPerMonth),
            },
            Task = new HumanTaskSettings
            {
                WorkersPerObject = Int(Env.WorkersPerObject, defaults.Task.WorkersPerObject),
                TaskTimeLimitSeconds = Int(Env.TaskTimeLimitSeconds, defaults.Task.TaskTimeLimitSeconds),
                MaxConcurrentTaskCount = Int(Env.MaxConcurrentTasks, defaults.Task.MaxConcurrentTaskCount),
                Title = Str(Env.TaskTitle) ?? defaults.Task.Title,
                Description = Str(Env.TaskDescription) ?? defaults.Task.Description,
            },
            JobTags = Str(Env.JobTags) is { } tags ? ParseTags(tags) : defaults.JobTags,
            Backend = backend,
            ProductionPrecision = new Quality.ProductionPrecisionOptions
            {
                WindowDays = Int(Env.PrecisionWindowDays, defaults.ProductionPrecision.WindowDays),
                MinBoxes = Int(Env.PrecisionMinBoxes, defaults.ProductionPrecision.MinBoxes),
            },
        };
        options.Validate();
        return options;
    }

    /// <summary>Reads the same variables from a JSON object of name → value (the CLI's --config file).</summary>
    public static LabelingOptions FromDictionary(IReadOnlyDictionary<string, string> values) =>
        FromEnvironment(name => values.TryGetValue(name, out var v) ? v : null);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        LabelingConventions.ValidateDatasetAttribute(LabelAttribute);
        Batching.Validate(Task.WorkersPerObject);
        Budget.Validate();
        try
        {
            ProductionPrecision.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{Env.PrecisionWindowDays}/{Env.PrecisionMinBoxes}: {ex.Message}", ex);
        }
        if (!SageMaker.BuiltInLambdas.AccountByRegion.ContainsKey(Region))
        {
            throw new ArgumentException($"AWS_REGION '{Region}' has no documented Ground Truth built-in Lambdas; use one of {string.Join(", ", SageMaker.BuiltInLambdas.AccountByRegion.Keys)}");
        }

        if (Task.TaskAvailabilitySeconds(Batching) is < 60 or > SageMaker.CreateLabelingJobValidator.MaxTaskAvailabilityPrivateSeconds)
        {
            throw new ArgumentException($"TASK_AVAILABILITY_DAYS {Batching.TaskAvailabilityDays} gives a task availability outside 60 s-30 days");
        }
    }

    private static T Parse<T>(string name, string? raw, T fallback, Func<string, T> parse)
    {
        if (raw is null)
        {
            return fallback;
        }

        try
        {
            return parse(raw);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            throw new ArgumentException($"environment variable {name}='{raw}' is not a valid {typeof(T).Name}", name, ex);
        }
    }

    private static Dictionary<string, string> ParseTags(string raw)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var i = pair.IndexOf('=', StringComparison.Ordinal);
            if (i <= 0)
            {
                throw new ArgumentException($"{Env.JobTags} entry '{pair}' is not key=value", Env.JobTags);
            }

            d[pair[..i]] = pair[(i + 1)..];
        }

        return d;
    }
}

/// <summary>The Ground Truth task settings of each job.</summary>
public sealed record HumanTaskSettings
{
    public int WorkersPerObject { get; init; } = 1;
    public int TaskTimeLimitSeconds { get; init; } = 600;
    public int MaxConcurrentTaskCount { get; init; } = 1000;
    public string Title { get; init; } = "Check the detector's boxes";
    public string Description { get; init; } = "Adjust, relabel, delete or add bounding boxes so every listed object has one tight box.";

    public int TaskAvailabilitySeconds(BatchingPolicy batching) => (int)Math.Round(batching.TaskAvailabilityDays * 86_400);
}

/// <summary>The labeling backends a deployment can choose (LABELING_BACKEND, cdk.json labeling.backend).</summary>
public static class LabelingBackends
{
    public const string GroundTruth = "groundtruth";
    public const string BuiltIn = "builtin";

    /// <summary>The price list of the built-in backend: nothing per object.</summary>
    public static IReadOnlyList<PriceTier> FreeTiers { get; } = [new(long.MaxValue, 0m)];

    /// <summary>Null or empty means Ground Truth (what every deployment used before the built-in backend existed).</summary>
    public static string Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or GroundTruth => GroundTruth,
        BuiltIn => BuiltIn,
        _ => throw new ArgumentException($"LABELING_BACKEND '{value}' is not one of {GroundTruth}, {BuiltIn}", "LABELING_BACKEND"),
    };
}
