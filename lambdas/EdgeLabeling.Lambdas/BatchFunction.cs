using System.Text.Json;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Events;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.Lambdas;

/// <summary>
/// Handler <c>EdgeLabeling.Lambdas::EdgeLabeling.Lambdas.BatchFunction::HandleAsync</c>: a scheduled
/// EventBridge event (or a direct invocation such as <c>{"flush": true}</c>) in, the run report out.
/// </summary>
public sealed class BatchFunction
{
    private readonly BatchPlanner _planner;

    /// <summary>Lambda's constructor: options from environment variables.</summary>
    public BatchFunction()
        : this(LambdaComposition.BuildLabelingProvider(LabelingOptions.FromEnvironment(), Contracts.LambdaFunctions.Batch.Name))
    {
    }

    public BatchFunction(IServiceProvider services)
    {
        _planner = services.GetRequiredService<BatchPlanner>();
    }

    public async Task<Stream> HandleAsync(Stream input)
    {
        // An empty payload is a plain direct invoke; anything else must be a JSON trigger.
        var trigger = input.CanSeek && input.Length == 0
            ? new BatchTrigger()
            : await JsonSerializer.DeserializeAsync(input, LabelingJsonContext.Default.BatchTrigger).ConfigureAwait(false) ?? new BatchTrigger();
        var report = await _planner.PlanAsync(trigger.Flush, trigger.Now).ConfigureAwait(false);
        var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, report, LabelingJsonContext.Default.BatchRunReport).ConfigureAwait(false);
        output.Position = 0;
        return output;
    }
}
