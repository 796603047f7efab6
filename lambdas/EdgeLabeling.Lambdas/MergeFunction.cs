using System.Text.Json;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Merge;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeLabeling.Lambdas;

/// <summary>
/// Handler <c>EdgeLabeling.Lambdas::EdgeLabeling.Lambdas.MergeFunction::HandleAsync</c>: the EventBridge
/// "SageMaker Ground Truth Labeling Job State Change" event in, the merge result out. A missing output
/// manifest (Ground Truth output can lag) throws, so the invocation fails and EventBridge retries it.
/// </summary>
public sealed class MergeFunction
{
    private readonly DatasetMerger _merger;

    /// <summary>Lambda's constructor: options from environment variables.</summary>
    public MergeFunction()
        : this(new ServiceCollection()
            .AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true))
            .AddLabeling(LabelingOptions.FromEnvironment())
            .BuildServiceProvider())
    {
    }

    public MergeFunction(IServiceProvider services)
    {
        _merger = services.GetRequiredService<DatasetMerger>();
    }

    public async Task<Stream> HandleAsync(Stream input)
    {
        using var buffer = new MemoryStream();
        await input.CopyToAsync(buffer).ConfigureAwait(false);
        var result = await _merger.MergeAsync(buffer.ToArray()).ConfigureAwait(false);
        var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, result, MergeJsonContext.Default.MergeResult).ConfigureAwait(false);
        output.Position = 0;
        return output;
    }
}
