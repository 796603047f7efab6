using System.Globalization;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Hosting;
using EdgeLabeling.Routing;
using Microsoft.Extensions.Options;

namespace EdgeLabeling.Edge;

/// <summary>What to do when the disk quota of the queue is reached.</summary>
public enum EvictionPolicy
{
    /// <summary>Never drop anything: intake stops (files stay in the watch folder) until uploads make room.</summary>
    Backpressure,

    /// <summary>Drop auto-labeled images, then auto-label records, oldest first; review/audit items are still never dropped.</summary>
    EvictLowPriority,
}

/// <summary>
/// Every setting of the edge component. Bound from configuration (command line <c>--Key value</c>, which is
/// how the Greengrass recipe passes <c>{configuration:/Key}</c>, and environment <c>EDGELABEL_Key</c>) and
/// validated at start by <see cref="EdgeOptionsValidator"/>.
/// </summary>
public sealed class EdgeOptions
{
    /// <summary>IoT thing name used in object keys; defaults to AWS_IOT_THING_NAME set by the nucleus.</summary>
    public string ThingName { get; set; } = "";

    /// <summary>Folder the camera writer drops JPEG/PNG frames into.</summary>
    public string InputDirectory { get; set; } = "";

    /// <summary>Writable folder for the queue database, blobs, quarantine and the status file.</summary>
    public string WorkDirectory { get; set; } = "";

    /// <summary>
    /// Group of the camera writer. The self-test, run as root by the Install step, creates a missing
    /// <see cref="InputDirectory"/> as root:CameraGroup mode 2770 (the group too when missing) and adds the
    /// component's user to it. Empty: a created folder belongs to the component's user and its primary group.
    /// </summary>
    public string CameraGroup { get; set; } = "edgelabeling-camera";

    /// <summary>When set, accepted frames are moved here instead of deleted.</summary>
    public string ProcessedDirectory { get; set; } = "";

    /// <summary>Camera id written into sidecars and used for duplicate detection.</summary>
    public string Camera { get; set; } = "cam0";

    /// <summary>ONNX detector file.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>Optional labels file (one class name per line) overriding the model's names.</summary>
    public string LabelsPath { get; set; } = "";

    /// <summary>Intra-op threads of the ONNX session.</summary>
    public int InferenceThreads { get; set; } = 1;

    /// <summary>
    /// Optional routing JSON file (thresholds, per-class thresholds, duplicate window...); the threshold options below
    /// override its values only when they are set.
    /// </summary>
    public string RoutingConfigPath { get; set; } = "";

    /// <summary>Global auto-accept threshold; unset (empty in the recipe) keeps the routing file's, else 0.5.</summary>
    public double? AutoAcceptThreshold { get; set; }

    /// <summary>Lower edge of the uncertain band (detections below it are background); unset keeps the routing file's, else 0.25.</summary>
    public double? UncertainLow { get; set; }

    /// <summary>Share of auto-labelable images also sent to people as audit samples; unset keeps the routing file's, else 0.02.</summary>
    public double? AuditRate { get; set; }

    /// <summary>
    /// Per-class auto-accept thresholds as "class=threshold,class=threshold" (<see cref="RoutingThresholds.FormatClassThresholds"/>,
    /// which the edge-fleet stack writes from cdk.json routing.classThresholds); when set they replace the routing file's
    /// as a whole, empty keeps the file's. A flat string because the recipe passes every setting on the command line.
    /// </summary>
    public string ClassThresholds { get; set; } = "";

    /// <summary>
    /// Label attribute of auto-label lines (the dataset attribute); unset (empty in the recipe) keeps the routing file's
    /// <c>labelAttributeName</c>, else <see cref="LabelingConventions.DefaultDatasetAttribute"/>.
    /// </summary>
    public string LabelAttribute { get; set; } = "";

    /// <summary>Destination bucket.</summary>
    public string Bucket { get; set; } = "";

    /// <summary>Endpoint override for S3-compatible servers; empty means AWS S3.</summary>
    public string S3Endpoint { get; set; } = "";

    /// <summary>Region; defaults to AWS_REGION set by the nucleus.</summary>
    public string Region { get; set; } = "";

    /// <summary>"auto" (WHEN_REQUIRED with an endpoint override), "when-required" or "when-supported".</summary>
    public string ChecksumMode { get; set; } = "auto";

    /// <summary>Objects larger than this go through multipart upload.</summary>
    public long MultipartThresholdBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Timeout of one S3 request.</summary>
    public int S3TimeoutSeconds { get; set; } = 30;

    /// <summary>Upload the auto-labeled images too (priority 2); otherwise they stay on the site.</summary>
    public bool UploadAutoLabeledImages { get; set; }

    /// <summary>Local-time window "HH:mm-HH:mm" for priority-2 uploads; empty means any time.</summary>
    public string LowPriorityWindow { get; set; } = "";

    /// <summary>Upload bandwidth cap in bytes/s; 0 means no cap.</summary>
    public long BandwidthBytesPerSecond { get; set; }

    /// <summary>Bytes per UTC day the component may upload, in MB; 0 means no quota.</summary>
    public long DailyUploadMegabytes { get; set; }

    /// <summary>Bytes the queue may hold on disk (blobs plus records).</summary>
    public long DiskQuotaBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>
    /// Bytes the quarantine folder (unreadable frames kept for a person to look at) may hold; the oldest
    /// quarantined frames are deleted beyond it, so a camera writing garbage cannot fill the disk. 0 = no limit.
    /// </summary>
    public long QuarantineMaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Free space the intake leaves on the work directory's file system: below it frames wait in the input
    /// folder (backpressure "disk-full"), so the queue never fills the disk and SQLite keeps room to record
    /// finished uploads. 0 turns the check off.
    /// </summary>
    public long MinFreeDiskBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>What happens when the disk quota is reached.</summary>
    public EvictionPolicy EvictionPolicy { get; set; } = EvictionPolicy.Backpressure;

    /// <summary>A frame is read only after its size and mtime have not changed for this long.</summary>
    public int FileStableMilliseconds { get; set; } = 1000;

    /// <summary>How often the watch folder is scanned.</summary>
    public int PollMilliseconds { get; set; } = 500;

    /// <summary>Upper bound of the offline back-off between probes.</summary>
    public int RetryMaxBackoffSeconds { get; set; } = 60;

    /// <summary>Quick retries of one upload before the link is considered down.</summary>
    public int RetryAttempts { get; set; } = 3;

    /// <summary>Status file path; empty means WorkDirectory/status.json.</summary>
    public string StatusFile { get; set; } = "";

    /// <summary>How often the status file is rewritten.</summary>
    public int StatusIntervalSeconds { get; set; } = 5;

    /// <summary>Auto-label records per uploaded JSON-lines object.</summary>
    public int AutoLabelBatchSize { get; set; } = 200;

    /// <summary>A smaller batch is sent once its oldest record has waited this long.</summary>
    public int AutoLabelBatchMaxWaitSeconds { get; set; } = 60;

    /// <summary>Downscale uploaded images so the longer side is at most this; 0 (default) keeps full resolution.</summary>
    public int UploadMaxSide { get; set; }

    /// <summary>JPEG quality of a re-encoded upload: downscaled (<see cref="UploadMaxSide"/>) or EXIF-rotated frames.</summary>
    public int UploadJpegQuality { get; set; } = 90;

    /// <summary>How often the fleet heartbeat (status/{thing}/heartbeat.json) is sent; 0 turns heartbeats off.</summary>
    public int HeartbeatIntervalSeconds { get; set; } = 300;

    /// <summary>Least time between two heartbeats, also when the state changes quickly (the rate limit).</summary>
    public int HeartbeatMinIntervalSeconds { get; set; } = 30;

    /// <summary>Component version reported in the heartbeat; empty uses the program's own version.</summary>
    public string ComponentVersion { get; set; } = "";

    public string ResolvedStatusFile => string.IsNullOrEmpty(StatusFile) ? Path.Combine(WorkDirectory, "status.json") : StatusFile;

    public TimeWindow? ResolvedLowPriorityWindow => string.IsNullOrWhiteSpace(LowPriorityWindow) ? null : TimeWindow.Parse(LowPriorityWindow);

    /// <summary>Fills thing name and region from the variables the Greengrass nucleus sets.</summary>
    public void ApplyEnvironmentDefaults(Func<string, string?> env)
    {
        if (string.IsNullOrWhiteSpace(ThingName))
        {
            ThingName = env("AWS_IOT_THING_NAME") ?? "";
        }

        if (string.IsNullOrWhiteSpace(Region))
        {
            Region = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "us-east-1";
        }
    }
}

/// <summary>Checks every option and names the field and the bad value.</summary>
public sealed class EdgeOptionsValidator : IValidateOptions<EdgeOptions>
{
    /// <summary>Set to false by callers that supply their own <c>IImageLabeler</c> and need no model file.</summary>
    public bool RequireModel { get; init; } = true;

    public ValidateOptionsResult Validate(string? name, EdgeOptions o)
    {
        var errors = new List<string>();
        void Check(bool ok, string field, string problem)
        {
            if (!ok)
            {
                errors.Add($"{field}: {problem}");
            }
        }

        Check(ObjectKeyLayout.IsValidThingName(o.ThingName), nameof(o.ThingName), $"'{o.ThingName}' must be 1-128 of letters, digits, ':', '_' or '-' (set it or AWS_IOT_THING_NAME)");
        Check(!string.IsNullOrWhiteSpace(o.InputDirectory), nameof(o.InputDirectory), "is required");
        Check(!string.IsNullOrWhiteSpace(o.WorkDirectory), nameof(o.WorkDirectory), "is required");
        Check(o.CameraGroup.Length == 0 || IsValidGroupName(o.CameraGroup), nameof(o.CameraGroup), $"'{o.CameraGroup}' must be empty or a POSIX group name (1-32 of a-z, 0-9, '_', '-', not starting with '-' or a digit)");
        if (RequireModel)
        {
            Check(!string.IsNullOrWhiteSpace(o.ModelPath) && File.Exists(o.ModelPath), nameof(o.ModelPath), $"model file '{o.ModelPath}' does not exist");
            Check(string.IsNullOrEmpty(o.LabelsPath) || File.Exists(o.LabelsPath), nameof(o.LabelsPath), $"labels file '{o.LabelsPath}' does not exist");
        }

        Check(string.IsNullOrEmpty(o.RoutingConfigPath) || File.Exists(o.RoutingConfigPath), nameof(o.RoutingConfigPath), $"routing config '{o.RoutingConfigPath}' does not exist");
        Check(o.AuditRate is null or >= 0 and <= 1, nameof(o.AuditRate), $"{o.AuditRate} must be in [0, 1]");
        try
        {
            // The same rule the routing file and cdk.json follow, on the thresholds the router will actually use.
            var file = string.IsNullOrEmpty(o.RoutingConfigPath) || !File.Exists(o.RoutingConfigPath) ? null : RoutingOptions.Load(o.RoutingConfigPath);
            foreach (var problem in EdgeComponentServiceCollectionExtensions.EffectiveThresholds(o, file?.Thresholds ?? new RoutingThresholds()).Problems())
            {
                // The problem names the field in camelCase; configuration keys are case-insensitive, the options are PascalCase.
                errors.Add(char.ToUpperInvariant(problem[0]) + problem[1..] + (file is null ? "" : $" (the options on top of {o.RoutingConfigPath})"));
            }
        }
        catch (FormatException ex)
        {
            Check(false, nameof(o.ClassThresholds), ex.Message);
        }
        catch (RoutingConfigException ex)
        {
            Check(false, nameof(o.RoutingConfigPath), ex.Message);
        }

        Check(o.InferenceThreads is >= 1 and <= 64, nameof(o.InferenceThreads), $"{o.InferenceThreads} must be 1-64");
        Check(o.LabelAttribute.Length == 0 || LabelingConventions.DatasetAttributeProblem(o.LabelAttribute) is null, nameof(o.LabelAttribute), LabelingConventions.DatasetAttributeProblem(o.LabelAttribute) ?? "");
        Check(IsValidBucket(o.Bucket), nameof(o.Bucket), $"'{o.Bucket}' is not a valid S3 bucket name (3-63 of a-z, 0-9, '-', '.')");
        Check(string.IsNullOrEmpty(o.S3Endpoint) || (Uri.TryCreate(o.S3Endpoint, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"), nameof(o.S3Endpoint), $"'{o.S3Endpoint}' is not an http(s) URL");
        Check(!string.IsNullOrWhiteSpace(o.Region), nameof(o.Region), "is required (or AWS_REGION)");
        Check(o.ChecksumMode is "auto" or "when-required" or "when-supported", nameof(o.ChecksumMode), $"'{o.ChecksumMode}' must be auto, when-required or when-supported");
        Check(o.MultipartThresholdBytes >= 5L * 1024 * 1024, nameof(o.MultipartThresholdBytes), $"{o.MultipartThresholdBytes} must be at least 5 MiB (the S3 minimum part size)");
        Check(o.S3TimeoutSeconds is >= 1 and <= 3600, nameof(o.S3TimeoutSeconds), $"{o.S3TimeoutSeconds} must be 1-3600");
        Check(string.IsNullOrWhiteSpace(o.LowPriorityWindow) || TimeWindow.TryParse(o.LowPriorityWindow, out _), nameof(o.LowPriorityWindow), $"'{o.LowPriorityWindow}' must look like 01:00-05:00");
        Check(o.BandwidthBytesPerSecond >= 0, nameof(o.BandwidthBytesPerSecond), $"{o.BandwidthBytesPerSecond} must be >= 0 (0 = no cap)");
        Check(o.BandwidthBytesPerSecond == 0 || o.BandwidthBytesPerSecond >= 1024, nameof(o.BandwidthBytesPerSecond), $"{o.BandwidthBytesPerSecond} is below 1 KiB/s; S3 requests would time out");
        Check(o.DailyUploadMegabytes >= 0, nameof(o.DailyUploadMegabytes), $"{o.DailyUploadMegabytes} must be >= 0 (0 = no quota)");
        Check(o.DiskQuotaBytes >= 1024 * 1024, nameof(o.DiskQuotaBytes), $"{o.DiskQuotaBytes} must be at least 1 MiB");
        Check(o.MinFreeDiskBytes >= 0, nameof(o.MinFreeDiskBytes), $"{o.MinFreeDiskBytes} must be >= 0 (0 = no check)");
        Check(o.QuarantineMaxBytes >= 0, nameof(o.QuarantineMaxBytes), $"{o.QuarantineMaxBytes} must be >= 0 (0 = no limit)");
        Check(Enum.IsDefined(o.EvictionPolicy), nameof(o.EvictionPolicy), $"'{o.EvictionPolicy}' must be Backpressure or EvictLowPriority");
        Check(o.FileStableMilliseconds is >= 0 and <= 600_000, nameof(o.FileStableMilliseconds), $"{o.FileStableMilliseconds} must be 0-600000");
        Check(o.PollMilliseconds is >= 10 and <= 60_000, nameof(o.PollMilliseconds), $"{o.PollMilliseconds} must be 10-60000");
        Check(o.RetryMaxBackoffSeconds is >= 1 and <= 3600, nameof(o.RetryMaxBackoffSeconds), $"{o.RetryMaxBackoffSeconds} must be 1-3600");
        Check(o.RetryAttempts is >= 0 and <= 10, nameof(o.RetryAttempts), $"{o.RetryAttempts} must be 0-10");
        Check(o.StatusIntervalSeconds is >= 1 and <= 3600, nameof(o.StatusIntervalSeconds), $"{o.StatusIntervalSeconds} must be 1-3600");
        Check(o.HeartbeatIntervalSeconds == 0 || o.HeartbeatIntervalSeconds is >= 10 and <= 86_400, nameof(o.HeartbeatIntervalSeconds), $"{o.HeartbeatIntervalSeconds} must be 0 (off) or 10-86400");
        Check(o.HeartbeatMinIntervalSeconds >= 1 && (o.HeartbeatIntervalSeconds == 0 || o.HeartbeatMinIntervalSeconds <= o.HeartbeatIntervalSeconds), nameof(o.HeartbeatMinIntervalSeconds), $"{o.HeartbeatMinIntervalSeconds} must be at least 1 and at most HeartbeatIntervalSeconds ({o.HeartbeatIntervalSeconds})");
        Check(o.AutoLabelBatchSize is >= 1 and <= 10_000, nameof(o.AutoLabelBatchSize), $"{o.AutoLabelBatchSize} must be 1-10000");
        Check(o.AutoLabelBatchMaxWaitSeconds is >= 0 and <= 86_400, nameof(o.AutoLabelBatchMaxWaitSeconds), $"{o.AutoLabelBatchMaxWaitSeconds} must be 0-86400");
        Check(o.UploadMaxSide == 0 || o.UploadMaxSide >= 64, nameof(o.UploadMaxSide), $"{o.UploadMaxSide} must be 0 (off) or at least 64");
        Check(o.UploadJpegQuality is >= 1 and <= 100, nameof(o.UploadJpegQuality), $"{o.UploadJpegQuality} must be 1-100");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsValidGroupName(string g) =>
        g.Length <= 32 && (char.IsAsciiLetterLower(g[0]) || g[0] == '_') && g.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '-');

    private static bool IsValidBucket(string b) =>
        !string.IsNullOrEmpty(b) && b.Length is >= 3 and <= 63 && b.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')
        && char.IsAsciiLetterOrDigit(b[0]) && char.IsAsciiLetterOrDigit(b[^1]) && !b.Contains("..", StringComparison.Ordinal);
}

/// <summary>A daily local-time window such as 01:00–05:00; may wrap past midnight (22:00–04:00).</summary>
public readonly record struct TimeWindow(TimeOnly Start, TimeOnly End)
{
    public static TimeWindow Parse(string text) =>
        TryParse(text, out var w) ? w : throw new FormatException($"time window '{text}' must look like 01:00-05:00");

    public static bool TryParse(string text, out TimeWindow window)
    {
        window = default;
        var parts = text.Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !TimeOnly.TryParseExact(parts[0], "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var start)
            || !TimeOnly.TryParseExact(parts[1], "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var end)
            || start == end)
        {
            return false;
        }

        window = new TimeWindow(start, end);
        return true;
    }

    /// <summary>True when <paramref name="localTime"/> is inside [Start, End).</summary>
    public bool Contains(TimeOnly localTime) =>
        Start < End ? localTime >= Start && localTime < End : localTime >= Start || localTime < End;

    public override string ToString() => $"{Start:HH\\:mm}-{End:HH\\:mm}";
}
