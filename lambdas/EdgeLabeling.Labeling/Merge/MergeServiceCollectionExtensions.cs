using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace EdgeLabeling.Labeling.Merge;

public static class MergeServiceCollectionExtensions
{
    /// <summary>
    /// Registers the merge (DatasetMerger, DatasetBuilder, DatasetExporter) on top of <c>AddLabeling</c>'s object store.
    /// The item ledger is the one registered before (<c>AddLabeling</c> registers the
    /// <see cref="PendingStoreJobItemsLedger"/> over its pending store), else an
    /// <see cref="InMemoryJobItemsLedger"/> (local merges of files, where no job records exist). Job outputs
    /// are located through the registered <see cref="IJobOutputLocator"/> (DescribeLabelingJob under AddLabeling).
    /// </summary>
    public static IServiceCollection AddLabelingMerge(this IServiceCollection services, MergeOptions options)
    {
        services.TryAddSingleton(options);
        services.TryAddSingleton<IJobItemsLedger>(_ => new InMemoryJobItemsLedger());
        services.TryAddSingleton(sp => new DatasetBuilder(sp.GetService<ILogger<DatasetBuilder>>()));
        services.TryAddSingleton(sp => new DatasetMerger(
            sp.GetRequiredService<IObjectStore>(),
            sp.GetRequiredService<IJobItemsLedger>(),
            sp.GetRequiredService<MergeOptions>(),
            sp.GetRequiredService<DatasetBuilder>(),
            sp.GetService<ILogger<DatasetMerger>>(),
            sp.GetService<ILabelingMetrics>(),
            sp.GetService<IJobOutputLocator>(),
            sp.GetService<TimeProvider>()));
        services.TryAddSingleton(sp => new MergeQueueProcessor(sp.GetRequiredService<DatasetMerger>(), sp.GetService<ILabelingMetrics>(), sp.GetService<ILogger<MergeQueueProcessor>>()));
        services.TryAddSingleton(sp => new DatasetExporter(
            sp.GetRequiredService<IObjectStore>(),
            sp.GetRequiredService<MergeOptions>(),
            sp.GetRequiredService<DatasetBuilder>(),
            sp.GetService<ILogger<DatasetExporter>>()));
        return services;
    }

    /// <summary>The merge with its settings taken from the labeling options (data bucket, label attribute).</summary>
    public static IServiceCollection AddLabelingMerge(this IServiceCollection services, LabelingOptions options) =>
        services.AddLabelingMerge(new MergeOptions
        {
            DataBucket = options.DataBucket,
            DatasetAttribute = options.LabelAttribute,
            AutoLabelBuckets = options.IncomingBucket is { } incoming && incoming != options.DataBucket ? [incoming, options.DataBucket] : [options.DataBucket],
            ProductionPrecision = options.ProductionPrecision,
        });
}
