using System.Text.Json;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Fleet;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.Lambdas;

/// <summary>
/// Handler <c>EdgeLabeling.Lambdas::EdgeLabeling.Lambdas.FleetHeartbeatFunction::HandleAsync</c>: an S3
/// notification for <c>status/</c> objects in (invoked by S3 directly), the list of outcomes out.
/// </summary>
public sealed class FleetHeartbeatFunction
{
    private readonly FleetHeartbeatIngest _ingest;

    public FleetHeartbeatFunction()
        : this(FleetServiceCollectionExtensions.BuildFleetProvider(LabelingOptions.FromEnvironment(labelingStoresRequired: false), FleetOptions.FromEnvironment()))
    {
    }

    public FleetHeartbeatFunction(IServiceProvider services) => _ingest = services.GetRequiredService<FleetHeartbeatIngest>();

    public async Task<Stream> HandleAsync(Stream input)
    {
        IReadOnlyList<HeartbeatOutcome> outcomes;
        try
        {
            var notification = await JsonSerializer.DeserializeAsync(input, LabelingJsonContext.Default.S3EventNotification).ConfigureAwait(false);
            outcomes = notification is null ? [new HeartbeatOutcome("", HeartbeatReasons.UnknownEventType)] : await _ingest.ProcessAsync(notification).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            // Retrying cannot fix an event that is not JSON; return instead of failing the invocation.
            outcomes = [new HeartbeatOutcome("", HeartbeatReasons.MalformedJson, Detail: ex.Message)];
        }

        var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, outcomes.Select(o => new Dictionary<string, string?> { ["key"] = o.Key, ["reason"] = o.Reason, ["thing"] = o.ThingName, ["detail"] = o.Detail }).ToList(),
            FleetLambdaJsonContext.Default.ListDictionaryStringString).ConfigureAwait(false);
        output.Position = 0;
        return output;
    }
}

/// <summary>
/// Handler <c>EdgeLabeling.Lambdas::EdgeLabeling.Lambdas.FleetCheckFunction::HandleAsync</c>: scheduled
/// (EventBridge); emits the fleet-wide counts the alarms watch and returns the fleet report.
/// </summary>
public sealed class FleetCheckFunction
{
    private readonly FleetCheck _check;

    public FleetCheckFunction()
        : this(FleetServiceCollectionExtensions.BuildFleetProvider(LabelingOptions.FromEnvironment(labelingStoresRequired: false), FleetOptions.FromEnvironment()))
    {
    }

    public FleetCheckFunction(IServiceProvider services) => _check = services.GetRequiredService<FleetCheck>();

    public async Task<Stream> HandleAsync(Stream input)
    {
        var report = await _check.RunAsync().ConfigureAwait(false);
        var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, report, FleetReportJsonContext.Default.FleetReport).ConfigureAwait(false);
        output.Position = 0;
        return output;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<Dictionary<string, string?>>))]
internal sealed partial class FleetLambdaJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
