using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Ingest;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.Lambdas;

/// <summary>
/// Handler <c>EdgeLabeling.Lambdas::EdgeLabeling.Lambdas.IngestFunction::HandleAsync</c>: an SQS batch of
/// S3 notifications in, the SQS partial-batch response out (enable ReportBatchItemFailures on the mapping).
/// </summary>
public sealed class IngestFunction
{
    private readonly IngestProcessor _processor;
    private readonly ILabelingMetrics _metrics;

    /// <summary>Lambda's constructor: options from environment variables.</summary>
    public IngestFunction()
        : this(LabelingServiceCollectionExtensions.BuildLabelingProvider(LabelingOptions.FromEnvironment()))
    {
    }

    public IngestFunction(IServiceProvider services)
    {
        _processor = services.GetRequiredService<IngestProcessor>();
        _metrics = services.GetRequiredService<ILabelingMetrics>();
    }

    public async Task<Stream> HandleAsync(Stream input)
    {
        SqsEvent? sqsEvent;
        try
        {
            sqsEvent = await JsonSerializer.DeserializeAsync(input, LabelingJsonContext.Default.SqsEvent).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            // Not an SQS event at all: nothing can be retried item by item, so report and return an empty response.
            _metrics.Emit(LabelingMetricNames.IngestDropped, 1, "Count", new Dictionary<string, string> { ["Reason"] = IngestReasons.MalformedJson },
                new Dictionary<string, string> { ["Detail"] = ex.Message });
            sqsEvent = null;
        }

        var response = sqsEvent is null
            ? new SqsBatchResponse()
            : (await _processor.ProcessAsync(sqsEvent).ConfigureAwait(false)).Response;
        var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, response, LabelingJsonContext.Default.SqsBatchResponse).ConfigureAwait(false);
        output.Position = 0;
        return output;
    }
}
