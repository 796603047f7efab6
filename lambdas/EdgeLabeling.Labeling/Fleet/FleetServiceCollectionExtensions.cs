using Amazon.DynamoDBv2;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeLabeling.Labeling.Fleet;

/// <summary>Adds the fleet view on top of <see cref="LabelingServiceCollectionExtensions.AddLabeling"/> (object store, metrics, clock).</summary>
public static class FleetServiceCollectionExtensions
{
    public static IServiceCollection AddFleet(this IServiceCollection services, LabelingOptions labeling, FleetOptions fleet)
    {
        services.AddLabeling(labeling);
        services.TryAddSingleton(fleet);
        services.TryAddSingleton<IFleetStore>(_ => CreateStore(labeling, fleet));
        services.TryAddSingleton<FleetHeartbeatIngest>();
        services.TryAddSingleton<FleetCheck>();
        return services;
    }

    public static ServiceProvider BuildFleetProvider(LabelingOptions labeling, FleetOptions fleet) =>
        new ServiceCollection().AddFleet(labeling, fleet).BuildServiceProvider();

    /// <summary>DynamoDB when a table name is set, otherwise the SQLite file.</summary>
    public static IFleetStore CreateStore(LabelingOptions labeling, FleetOptions fleet)
    {
        if (fleet.TableName is null)
        {
            return new SqliteFleetStore(fleet.DbPath);
        }

        var config = new AmazonDynamoDBConfig { RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(labeling.Region) };
        if (labeling.DynamoDbEndpoint is { } endpoint)
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = labeling.Region;
        }

        return new DynamoDbFleetStore(new AmazonDynamoDBClient(config), fleet.TableName);
    }
}
