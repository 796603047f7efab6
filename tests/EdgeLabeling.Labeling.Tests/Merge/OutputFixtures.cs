using System.Text;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Merge;

/// <summary>
/// Hand-written Ground Truth bounding-box output lines covering what real output does (from the
/// documented facts): labeling-job/ prefixed job names, float coordinates, string class-map keys, empty
/// lists, varying key order, adjustment-status, failed objects, plus malformed lines.
/// </summary>
internal static class OutputFixtures
{
    public const string Bucket = "data-bucket";
    public const string Job = "edgelabel-batch-20261126-0001";

    public static string Sha(int i) => i.ToString("x64");

    public static string SourceRef(int i) => $"s3://incoming-bucket/incoming/site-a-cam1/2026/11/26/{Sha(i)}.jpg";

    /// <summary>Real-output style: metadata first, floats, string keys, sparse class ids, labeling-job/ prefix.</summary>
    public static string RealStyle(int i, string job = Job) =>
        """{"parts-human-metadata":{"objects":[{"confidence":0.0},{"confidence":0.0}],"class-map":{"0":"bolt","2":"washer"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-11-26T07:01:02.123456","job-name":"labeling-job/@0@"},"parts-human":{"annotations":[{"class_id":0,"top":187.39999999999998,"left":455.6,"height":245,"width":257.4},{"class_id":2,"top":10.5,"left":20.25,"height":30.0,"width":40.75}],"image_size":[{"width":1024,"height":768,"depth":3}]},"parts-model":{"image_size":[{"width":1024,"height":768,"depth":3}],"annotations":[{"class_id":0,"top":186,"left":455,"height":246,"width":258}]},"parts-model-metadata":{"objects":[{"confidence":0.41}],"class-map":{"0":"bolt"},"type":"groundtruth/object-detection","human-annotated":"no","creation-date":"2026-11-25T10:00:00.000000","job-name":"labeling-job/edge-auto-site-a-cam1"},"edgelabel-provenance":{"source":"model","model-sha256":"abc123","device":"site-a-cam1","edge-reason":"uncertain-box"},"source-ref":"@1@"}""".Replace("@0@", (job).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("@1@", (SourceRef(i)).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>Docs style: bare job name, integer coordinates, source-ref first.</summary>
    public static string DocsStyle(int i, string job = Job) =>
        """{"source-ref":"@0@","parts-human":{"image_size":[{"width":640,"height":480,"depth":3}],"annotations":[{"class_id":1,"top":40,"left":50,"height":60,"width":70}]},"parts-human-metadata":{"objects":[{"confidence":0.09}],"class-map":{"1":"nut"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-11-26T07:01:02.654321","job-name":"@1@"}}""".Replace("@0@", (SourceRef(i)).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("@1@", (job).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>An image people looked at and found empty.</summary>
    public static string Empty(int i, string job = Job) =>
        """{"source-ref":"@0@","parts-human":{"annotations":[],"image_size":[{"width":320,"height":320,"depth":3}]},"parts-human-metadata":{"objects":[],"class-map":{},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-11-26T07:01:02.000001","job-name":"labeling-job/@1@"}}""".Replace("@0@", (SourceRef(i)).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("@1@", (job).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>Adjustment job output: adjustment-status in the metadata.</summary>
    public static string Adjusted(int i, string job = Job) =>
        """{"source-ref":"@0@","parts-human":{"image_size":[{"width":800,"height":600,"depth":3}],"annotations":[{"class_id":0,"top":100.0,"left":100.0,"height":50.5,"width":60.5}]},"parts-human-metadata":{"adjustment-status":"adjusted","objects":[{"confidence":0.0}],"class-map":{"0":"bolt"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-11-26T07:01:03.000000","job-name":"labeling-job/@1@"}}""".Replace("@0@", (SourceRef(i)).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("@1@", (job).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>A data object the job could not label (expired task).</summary>
    public static string Failed(int i, string job = Job) =>
        """{"source-ref":"@0@","parts-human-metadata":{"retry-count":1,"failure-reason":"ClientError: The task expired before a worker submitted an answer.","human-annotated":"yes","type":"groundtruth/object-detection","creation-date":"2026-11-26T07:01:04.000000","job-name":"labeling-job/@1@"}}""".Replace("@0@", (SourceRef(i)).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("@1@", (job).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>An auto-label line from the edge (human-annotated "no") under the dataset attribute.</summary>
    public static string Auto(int i, double left = 455, double top = 186, int classId = 0) =>
        """{"source-ref":"@0@","parts":{"image_size":[{"width":1024,"height":768,"depth":3}],"annotations":[{"class_id":@1@,"top":@2@,"left":@3@,"height":246,"width":258}]},"parts-metadata":{"objects":[{"confidence":0.93}],"class-map":{"@4@":"bolt"},"type":"groundtruth/object-detection","human-annotated":"no","creation-date":"2026-11-25T10:00:00.000000","job-name":"labeling-job/edge-auto-site-a-cam1"},"provenance":{"source":"model","model-sha256":"abc123","device":"site-a-cam1"}}""".Replace("@0@", (SourceRef(i)).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("@1@", (classId).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("@2@", (top).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("@3@", (left).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Replace("@4@", (classId).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public static async Task PutLinesAsync(IObjectStore store, string key, IEnumerable<string> lines)
    {
        var text = string.Join("\n", lines) + "\n";
        await store.PutBytesAsync(Bucket, key, Encoding.UTF8.GetBytes(text), "application/jsonlines");
    }

    public static async Task<string[]> ReadLinesAsync(IObjectStore store, string key)
    {
        var bytes = await store.ReadBytesAsync(Bucket, key) ?? throw new InvalidOperationException($"{key} missing");
        return Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static byte[] Event(string status, string job = Job) =>
        Encoding.UTF8.GetBytes(JobStateChangeEvent.Create($"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{job}", status, new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero)).ToJson());
}
