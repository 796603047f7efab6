using System.Text.Json.Nodes;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// Provenance travels with an image from the edge to the dataset under one key,
/// <c>"edgelabel-provenance"</c> (the key the edge writes on its auto-label lines): a
/// <see cref="Contracts.Provenance"/>-shaped object (source, model-sha256, device, thresholds…) plus the
/// edge's routing reason. The batcher copies it into the job's input line, Ground Truth passes input keys
/// through, and the merge writes it on every dataset line with the label's source and job.
/// </summary>
public static class DatasetProvenance
{
    public const string Key = "edgelabel-provenance";

    /// <summary>Older or hand-made lines may carry it as plain "provenance".</summary>
    public const string LegacyKey = "provenance";

    /// <summary>The extra input-manifest key the batcher adds for one item.</summary>
    public static IEnumerable<KeyValuePair<string, JsonNode?>> InputLineKeys(string thingName, string? modelSha256, string? edgeReason)
    {
        var p = new JsonObject { ["source"] = "model", ["device"] = thingName };
        if (modelSha256 is not null)
        {
            p["model-sha256"] = modelSha256;
        }

        if (edgeReason is not null)
        {
            p["edge-reason"] = edgeReason;
        }

        return [new KeyValuePair<string, JsonNode?>(Key, p)];
    }

    /// <summary>The provenance of a dataset line: everything the edge recorded, then who labeled it and in which job.</summary>
    public static JsonObject ForDatasetLine(JsonObject raw, string source, string jobName, JsonNode? adjustmentStatus)
    {
        var p = new JsonObject();
        if ((raw[Key] ?? raw[LegacyKey]) is JsonObject edge)
        {
            foreach (var (k, v) in edge)
            {
                p[k] = v?.DeepClone();
            }
        }

        // A reason outside the object (older input lines) still counts.
        if (p["edge-reason"] is null && (raw["edge-reason"] ?? raw["reason"]) is JsonValue reason)
        {
            p["edge-reason"] = reason.DeepClone();
        }

        p["source"] = source;
        if (jobName.Length > 0)
        {
            p["job-name"] = jobName;
        }
        else
        {
            p.Remove("job-name");
        }

        if (adjustmentStatus is JsonValue a)
        {
            p["adjustment-status"] = a.DeepClone();
        }

        return p;
    }
}
