using System.Globalization;

namespace EdgeLabeling.Contracts;

/// <summary>
/// Names shared by the edge, the batcher, the merge and the dataset so that every party agrees on
/// where things are and what each label attribute means.
/// </summary>
public static class LabelingConventions
{
    /// <summary>Default label attribute of the final dataset (configurable everywhere as "label attribute").</summary>
    public const string DefaultDatasetAttribute = "parts";

    /// <summary>Prefix under which the edge uploads batches of auto-label lines (GT output lines, human-annotated "no").</summary>
    public const string AutoLabelsPrefix = "auto-labels/";

    /// <summary>Prefix of the dataset written by the merge.</summary>
    public const string DatasetPrefix = "dataset/";

    /// <summary>Prefix of Ground Truth job inputs (input manifests, label category files) written by the batcher.</summary>
    public const string JobInputPrefix = "jobs/input/";

    /// <summary>S3OutputPath prefix for Ground Truth jobs; GT writes under {prefix}{jobName}/...</summary>
    public const string JobOutputPrefix = "jobs/output/";

    /// <summary>
    /// The edge's routing reason for an image sent to people as an audit of a confident auto label (the
    /// edge's <c>RoutingReasons.AuditSample</c>); the merge counts those images as audits.
    /// </summary>
    public const string AuditSampleReason = "audit-sample";

    /// <summary>The attribute in the GT input manifest holding the model's boxes (a chained prior label).</summary>
    public static string PriorAttribute(string datasetAttribute) => datasetAttribute + "-model";

    /// <summary>The attribute people write in the job; must differ from the prior for adjustment jobs.</summary>
    public static string HumanAttribute(string datasetAttribute) => datasetAttribute + "-human";

    /// <summary>
    /// Null when <paramref name="name"/> can be the dataset's label attribute, or what is wrong with it. The one rule
    /// for every place that accepts it (cdk.json, the component's options, the routing file, the Lambdas' settings):
    /// a Ground Truth label attribute name (<see cref="GroundTruthManifest.ValidateLabelAttributeName"/>) whose
    /// derived <see cref="PriorAttribute"/> and <see cref="HumanAttribute"/> are valid names too, so at most 121 characters.
    /// </summary>
    public static string? DatasetAttributeProblem(string? name)
    {
        foreach (var candidate in new[] { name ?? "", PriorAttribute(name ?? ""), HumanAttribute(name ?? "") })
        {
            try
            {
                GroundTruthManifest.ValidateLabelAttributeName(candidate);
            }
            catch (ArgumentException ex)
            {
                return candidate == name ? ex.Message : $"'{name}' is too long for the attribute derived from it: {ex.Message}";
            }
        }

        return null;
    }

    /// <summary>Throws <see cref="ArgumentException"/> with <see cref="DatasetAttributeProblem"/> when the name cannot be the dataset's attribute.</summary>
    public static void ValidateDatasetAttribute(string name)
    {
        if (DatasetAttributeProblem(name) is { } problem)
        {
            throw new ArgumentException(problem, nameof(name));
        }
    }

    /// <summary>The job name written into auto-label lines made on a device (no real GT job exists for them).</summary>
    public static string EdgeAutoLabelJobName(string thingName) => "labeling-job/edge-auto-" + thingName;

    /// <summary>
    /// Key of one batch of auto-label lines: auto-labels/{thing}/{yyyy}/{MM}/{dd}/{sha256-of-content}.manifest.
    /// Content-addressed like images, so a retried upload rewrites the same object.
    /// </summary>
    public static string AutoLabelBatchKey(string thingName, DateTimeOffset day, string contentSha256Hex)
    {
        if (!ObjectKeyLayout.IsValidThingName(thingName))
        {
            throw new ArgumentException($"thing name '{thingName}' is not valid", nameof(thingName));
        }

        var utc = day.UtcDateTime;
        return string.Create(CultureInfo.InvariantCulture, $"{AutoLabelsPrefix}{thingName}/{utc:yyyy}/{utc:MM}/{utc:dd}/{contentSha256Hex}.manifest");
    }

    /// <summary>
    /// Key of an auto-labeled image the operator chose to upload: auto-labels/{thing}/images/{yyyy}/{MM}/{dd}/{sha256}.{ext}.
    /// Deliberately outside incoming/: those images need no people, so they must not trigger the ingest
    /// (which would wait forever for a sidecar that never comes); the device policy already allows auto-labels/{thing}/.
    /// </summary>
    public static string AutoLabeledImageKey(string thingName, DateTimeOffset captureTime, string sha256Hex, string extension)
    {
        var incoming = ObjectKeyLayout.ImageKey(thingName, captureTime, sha256Hex, extension);
        return AutoLabelsPrefix + thingName + "/images/" + incoming[(ObjectKeyLayout.IncomingPrefix.Length + thingName.Length + 1)..];
    }

    /// <summary>Key of the output manifest GT writes for a job: {outputPrefix}{job}/manifests/output/output.manifest.</summary>
    public static string JobOutputManifestKey(string jobName) => $"{JobOutputPrefix}{jobName}/manifests/output/output.manifest";
}
