using Amazon.DynamoDBv2;
using Amazon.SQS;
using Amazon.SQS.Model;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.Lambdas;

/// <summary>What the built-in backend's functions read from their environment (the names are the contract's).</summary>
public sealed record BuiltInBackendSettings
{
    public required ReviewOptions Review { get; init; }

    /// <summary>Where finished jobs' state-change events go (the review API and the sweep only).</summary>
    public string? MergeQueueUrl { get; init; }

    /// <summary>Local only: dynalite instead of DynamoDB.</summary>
    public string? DynamoDbEndpoint { get; init; }

    /// <summary>
    /// Reads the settings and refuses to start without the task table (the SQLite store is for laptops, and
    /// the Lambda package does not ship SQLite), without the account id the job ARNs carry, and, when
    /// <paramref name="publishes"/>, without the merge queue.
    /// </summary>
    public static BuiltInBackendSettings FromEnvironment(Func<string, string?>? get = null, bool publishes = false)
    {
        get ??= Environment.GetEnvironmentVariable;
        string? Str(string name) => get(name) is { Length: > 0 } v ? v.Trim() : null;
        var review = ReviewOptions.FromEnvironment(get);
        if (review.TableName is null)
        {
            throw new InvalidOperationException($"{LambdaEnvironment.ReviewTableName} is not set: the built-in backend keeps its jobs and tasks in DynamoDB on Lambda (labeling.backend builtin deploys the table)");
        }

        if (Str(LambdaEnvironment.AccountId) is not { } account || account.Length != 12 || !account.All(char.IsAsciiDigit))
        {
            throw new InvalidOperationException($"{LambdaEnvironment.AccountId} must be the 12-digit account id the built-in jobs' ARNs carry (got '{Str(LambdaEnvironment.AccountId)}')");
        }

        var queue = Str(LambdaEnvironment.MergeQueueUrl);
        if (publishes && queue is null)
        {
            throw new InvalidOperationException($"{LambdaEnvironment.MergeQueueUrl} is not set: a finished built-in job's state-change event must reach the merge queue");
        }

        return new BuiltInBackendSettings { Review = review, MergeQueueUrl = queue, DynamoDbEndpoint = Str(LambdaEnvironment.DynamoDbEndpoint) };
    }

    public IAmazonDynamoDB CreateDynamoDbClient()
    {
        var config = new AmazonDynamoDBConfig { RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(Review.Region) };
        if (DynamoDbEndpoint is { } endpoint)
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = Review.Region;
        }

        return new AmazonDynamoDBClient(config);
    }

    public IReviewTaskStore CreateTaskStore() => new DynamoDbReviewTaskStore(CreateDynamoDbClient(), Review.TableName!);
}

/// <summary>
/// Sends a finished built-in job's state-change event to the merge queue: the same JSON EventBridge delivers
/// for a Ground Truth job, to the queue the EventBridge rule fills, so the merge cannot tell the two apart.
/// Straight to the queue rather than through EventBridge: the job state rule's only target is this queue anyway,
/// and an event put by the application would have to claim the source aws.sagemaker (AWS's own namespace), which
/// the rule matches and the merge checks.
/// </summary>
public sealed class SqsJobStateChangePublisher(IAmazonSQS sqs, string queueUrl) : IJobStateChangePublisher
{
    public async Task PublishAsync(string eventJson, CancellationToken cancellationToken = default) =>
        await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = queueUrl, MessageBody = eventJson }, cancellationToken).ConfigureAwait(false);
}

/// <summary>
/// The batch and merge functions create and describe built-in jobs but never finish one (the review API and
/// the sweep do); a publish from them would be a bug, so it fails loudly instead of losing the event.
/// </summary>
public sealed class NotPublishingJobStateChangePublisher(string functionName) : IJobStateChangePublisher
{
    public Task PublishAsync(string eventJson, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException($"{functionName} does not finish built-in jobs; the review API and ReviewSweepFunction send their state-change events");
}

/// <summary>The Lambda composition of the labeling core with the backend the environment chose.</summary>
public static class LambdaComposition
{
    /// <summary>
    /// With LABELING_BACKEND=builtin registers the built-in backend as the labeling-job port before
    /// <see cref="LabelingServiceCollectionExtensions.AddLabeling"/> (which otherwise refuses to start), over the
    /// DynamoDB task table of REVIEW_TABLE_NAME; with groundtruth it adds nothing.
    /// </summary>
    public static IServiceCollection AddLabelingBackend(this IServiceCollection services, LabelingOptions options, string functionName, Func<string, string?>? get = null)
    {
        if (options.Backend != LabelingBackends.BuiltIn)
        {
            return services;
        }

        var settings = BuiltInBackendSettings.FromEnvironment(get);
        var store = settings.CreateTaskStore();
        services.AddSingleton<ISageMakerClient>(sp => new BuiltInLabelingService(store, sp.GetRequiredService<IObjectStore>(),
            new NotPublishingJobStateChangePublisher(functionName), settings.Review, sp.GetService<TimeProvider>()));
        return services;
    }

    /// <summary>The labeling graph of a handler's parameterless constructor.</summary>
    public static ServiceProvider BuildLabelingProvider(LabelingOptions options, string functionName) =>
        new ServiceCollection().AddLabelingBackend(options, functionName).AddLabeling(options).BuildServiceProvider();
}
