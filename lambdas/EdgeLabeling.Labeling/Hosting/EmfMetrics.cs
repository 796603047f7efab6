using System.Text;
using System.Text.Json;

namespace EdgeLabeling.Labeling;

/// <summary>Where the labeling core reports counts and decisions.</summary>
public interface ILabelingMetrics
{
    /// <summary>One metric value with its dimensions (kept few: reason, decision) and free-form properties for logs.</summary>
    void Emit(string name, double value, string unit, IReadOnlyDictionary<string, string>? dimensions = null, IReadOnlyDictionary<string, string>? properties = null);
}

/// <summary>
/// CloudWatch Embedded Metric Format: one JSON object per line on stdout. In Lambda the log
/// pipeline turns these into metrics without any SDK or API call; locally they are readable logs.
/// </summary>
public sealed class EmfMetrics(TextWriter output, string metricNamespace = "EdgeLabeling", TimeProvider? time = null) : ILabelingMetrics
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public void Emit(string name, double value, string unit, IReadOnlyDictionary<string, string>? dimensions = null, IReadOnlyDictionary<string, string>? properties = null)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("_aws");
            w.WriteNumber("Timestamp", _time.GetUtcNow().ToUnixTimeMilliseconds());
            w.WriteStartArray("CloudWatchMetrics");
            w.WriteStartObject();
            w.WriteString("Namespace", metricNamespace);
            w.WriteStartArray("Dimensions");
            w.WriteStartArray();
            foreach (var d in dimensions?.Keys ?? Enumerable.Empty<string>())
            {
                w.WriteStringValue(d);
            }

            w.WriteEndArray();
            w.WriteEndArray();
            w.WriteStartArray("Metrics");
            w.WriteStartObject();
            w.WriteString("Name", name);
            w.WriteString("Unit", unit);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            foreach (var (k, v) in dimensions ?? new Dictionary<string, string>())
            {
                w.WriteString(k, v);
            }

            foreach (var (k, v) in properties ?? new Dictionary<string, string>())
            {
                w.WriteString(k, v);
            }

            w.WriteNumber(name, value);
            w.WriteEndObject();
        }

        var line = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        lock (_gate)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }
}

/// <summary>Discards metrics (benchmarks).</summary>
public sealed class NullLabelingMetrics : ILabelingMetrics
{
    public static readonly NullLabelingMetrics Instance = new();

    public void Emit(string name, double value, string unit, IReadOnlyDictionary<string, string>? dimensions = null, IReadOnlyDictionary<string, string>? properties = null)
    {
    }
}
