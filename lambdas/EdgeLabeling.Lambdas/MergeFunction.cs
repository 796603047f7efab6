using System.Text.Json;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Merge;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeLabeling.Lambdas;

/// <summary>
/// Handler <c>EdgeLabeling.Lambdas::EdgeLabeling.Lambdas.MergeFunction::HandleAsync</c>: an SQS batch from the
/// merge queue (each body an EventBridge "SageMaker Ground Truth Labeling Job State Change" event) in, the
/// SQS partial-batch response out (enable ReportBatchItemFailures on the mapping). A message whose job output
/// is not there yet is listed as failed and comes back after the visibility timeout.
/// </summary>
public sealed class MergeFunction
{
    private readonly MergeQueueProcessor _processor;

    /// <summary>Lambda's constructor: options from environment variables.</summary>
    public MergeFunction()
        : this(LabelingOptions.FromEnvironment())
    {
    }

    private MergeFunction(LabelingOptions options)
        : this(new ServiceCollection()
            .AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true))
            .AddLabelingBackend(options, Contracts.LambdaFunctions.Merge.Name)
            .AddLabeling(options)
            .BuildServiceProvider())
    {
    }

    public MergeFunction(IServiceProvider services)
    {
        _processor = services.GetRequiredService<MergeQueueProcessor>();
    }

    public async Task<Stream> HandleAsync(Stream input)
    {
        using var buffer = new MemoryStream();
        await input.CopyToAsync(buffer).ConfigureAwait(false);
        var result = await _processor.ProcessAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length)).ConfigureAwait(false);
        var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, result.Response, LabelingJsonContext.Default.SqsBatchResponse).ConfigureAwait(false);
        output.Position = 0;
        return output;
    }
}
