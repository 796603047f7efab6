using Amazon.DynamoDBv2;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Ingest;
using EdgeLabeling.Labeling.Jobs;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeLabeling.Labeling;

/// <summary>The one composition root of the labeling core, used by the Lambda handlers, the CLI and the tests.</summary>
public static class LabelingServiceCollectionExtensions
{
    public const string SageMakerHttpClient = "sagemaker";

    /// <summary>
    /// Registers the labeling graph. Adapters are added with TryAdd, so a caller that registered its own
    /// <see cref="IObjectStore"/>, <see cref="IPendingStore"/>, <see cref="ISageMakerClient"/>,
    /// <see cref="ISigningCredentialsSource"/>, <see cref="ILabelingMetrics"/> or <see cref="TimeProvider"/>
    /// first keeps it (tests, the dry run).
    /// </summary>
    public static IServiceCollection AddLabeling(this IServiceCollection services, LabelingOptions options)
    {
        options.Validate();
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ILabelingMetrics>(_ => new EmfMetrics(Console.Out));
        services.TryAddSingleton<IObjectStore>(_ => CreateObjectStore(options));
        services.TryAddSingleton<IPendingStore>(_ => CreatePendingStore(options));

        // One store answers all three parts, so a caller's own IPendingStore is what its parts resolve to as well.
        services.TryAddSingleton<IPendingItemStore>(sp => sp.GetRequiredService<IPendingStore>());
        services.TryAddSingleton<IBatchStore>(sp => sp.GetRequiredService<IPendingStore>());
        services.TryAddSingleton<IBudgetLedger>(sp => sp.GetRequiredService<IPendingStore>());
        services.TryAddSingleton<ISigningCredentialsSource, AwsSdkCredentialsSource>();
        services.AddHttpClient(SageMakerHttpClient, c => c.Timeout = TimeSpan.FromSeconds(30));
        services.TryAddSingleton<ISageMakerClient>(sp => options.Backend == LabelingBackends.BuiltIn
            ? throw new InvalidOperationException("LABELING_BACKEND=builtin: register the built-in backend (EdgeLabeling.Review's BuiltInLabelingService) as ISageMakerClient before AddLabeling; without it jobs would silently go to SageMaker Ground Truth")
            : new SageMakerJsonClient(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(SageMakerHttpClient),
            new SageMakerClientOptions { Region = options.Region, Endpoint = options.SageMakerEndpoint is { } e ? new Uri(e) : null },
            sp.GetRequiredService<ISigningCredentialsSource>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new CostForecaster(options.Budget));
        services.TryAddSingleton(sp => new LabelingJobFactory(options, sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new IngestProcessor(sp.GetRequiredService<IObjectStore>(), sp.GetRequiredService<IPendingItemStore>(), options,
            sp.GetRequiredService<ILabelingMetrics>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new BatchPlanner(sp.GetRequiredService<IPendingStore>(), sp.GetRequiredService<IObjectStore>(),
            sp.GetRequiredService<ISageMakerClient>(), sp.GetRequiredService<LabelingJobFactory>(), sp.GetRequiredService<CostForecaster>(), options,
            sp.GetRequiredService<ILabelingMetrics>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IJobItemsLedger>(sp => new PendingStoreJobItemsLedger(sp.GetRequiredService<IPendingStore>(), options.Batching, sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IJobOutputLocator>(sp => new SageMakerJobOutputLocator(sp.GetRequiredService<ISageMakerClient>()));
        services.AddLabelingMerge(options);
        return services;
    }

    /// <summary>Builds a provider from <paramref name="options"/> (what the handlers' parameterless constructors do).</summary>
    public static ServiceProvider BuildLabelingProvider(LabelingOptions options) => new ServiceCollection().AddLabeling(options).BuildServiceProvider();

    private static IObjectStore CreateObjectStore(LabelingOptions options)
    {
        if (options.LocalStoreRoot is { } root)
        {
            return new FileSystemObjectStore(root);
        }

        var settings = new S3Settings
        {
            ServiceUrl = options.S3Endpoint,
            Region = options.Region,
            ChecksumWhenRequired = options.S3Endpoint is not null,
        };
        return new S3ObjectStore(settings.CreateClient(), settings);
    }

    private static IPendingStore CreatePendingStore(LabelingOptions options)
    {
        if (options.TableName is null)
        {
            return CreateLocalSqliteStore(options);
        }

        var config = new AmazonDynamoDBConfig { RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region) };
        if (options.DynamoDbEndpoint is { } endpoint)
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = options.Region;
        }

        return new DynamoDbPendingStore(new AmazonDynamoDBClient(config), options.TableName);
    }

    // Kept out of CreatePendingStore so compiling the Lambda path never touches SQLite types: the Lambda
    // package does not ship Microsoft.Data.Sqlite (lambdas/EdgeLabeling.Lambdas/EdgeLabeling.Lambdas.csproj),
    // and LabelingOptions refuses to run on Lambda without TABLE_NAME.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static IPendingStore CreateLocalSqliteStore(LabelingOptions options) => new SqlitePendingStore(options.PendingDbPath);
}
