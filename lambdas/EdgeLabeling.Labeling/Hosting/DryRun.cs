using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling;

/// <summary>
/// An object store for dry runs: reads fall through to the real store (so sidecars are read from
/// where the edge put them), writes stay in memory and are listed in <see cref="Written"/>.
/// </summary>
public sealed class DryRunObjectStore(IObjectStore inner) : IObjectStore
{
    private readonly ConcurrentDictionary<(string Bucket, string Key), (byte[] Bytes, string ContentType)> _written = new();

    /// <summary>Everything the run would have written, keyed by bucket and key.</summary>
    public IReadOnlyDictionary<(string Bucket, string Key), (byte[] Bytes, string ContentType)> Written => _written;

    public async Task PutAsync(string bucket, string key, Stream content, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(bucket, key);
        using var ms = new MemoryStream();
        await content.CopyToAsync(ms, cancellationToken).ConfigureAwait(false);
        _written[(bucket, key)] = (ms.ToArray(), contentType);
    }

    public Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default) =>
        _written.TryGetValue((bucket, key), out var w)
            ? Task.FromResult<StoredObject?>(new StoredObject(bucket, key, w.Bytes.Length, DateTimeOffset.UtcNow, new Dictionary<string, string> { ["content-type"] = w.ContentType }))
            : inner.HeadAsync(bucket, key, cancellationToken);

    public Task<Stream?> OpenReadAsync(string bucket, string key, CancellationToken cancellationToken = default) =>
        _written.TryGetValue((bucket, key), out var w)
            ? Task.FromResult<Stream?>(new MemoryStream(w.Bytes, writable: false))
            : inner.OpenReadAsync(bucket, key, cancellationToken);

    public async IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var o in inner.ListAsync(bucket, prefix, cancellationToken).ConfigureAwait(false))
        {
            if (!_written.ContainsKey((bucket, o.Key)))
            {
                yield return o;
            }
        }

        foreach (var ((b, k), w) in _written.Where(e => e.Key.Bucket == bucket && e.Key.Key.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(e => e.Key.Key, StringComparer.Ordinal))
        {
            yield return new StoredObject(b, k, w.Bytes.Length, DateTimeOffset.UtcNow, new Dictionary<string, string>());
        }
    }

    public Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default)
    {
        _written.TryRemove((bucket, key), out _);
        return Task.CompletedTask;
    }
}

/// <summary>
/// A SageMaker client for dry runs: validates and records each CreateLabelingJob request (exactly the
/// body <see cref="SageMakerJsonClient"/> would send) and sends nothing.
/// </summary>
public sealed class DryRunSageMakerClient(string region) : ISageMakerClient
{
    private readonly ConcurrentDictionary<string, CreateLabelingJobRequest> _created = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyDictionary<string, CreateLabelingJobRequest> Created => _created;

    /// <summary>The request body as it would go over the wire.</summary>
    public static byte[] Body(CreateLabelingJobRequest request) => SageMakerJsonClient.SerializeCreateLabelingJob(request);

    public Task<CreateLabelingJobResponse> CreateLabelingJobAsync(CreateLabelingJobRequest request, CancellationToken cancellationToken = default)
    {
        var problems = CreateLabelingJobValidator.Validate(request);
        if (problems.Count > 0)
        {
            throw new SageMakerValidationException(string.Join("; ", problems), HttpStatusCode.BadRequest);
        }

        if (!_created.TryAdd(request.LabelingJobName!, request))
        {
            throw new SageMakerResourceInUseException($"labeling job {request.LabelingJobName} already exists (dry run)", HttpStatusCode.BadRequest);
        }

        return Task.FromResult(new CreateLabelingJobResponse { LabelingJobArn = $"arn:aws:sagemaker:{region}:000000000000:labeling-job/{request.LabelingJobName}" });
    }

    public Task<DescribeLabelingJobResponse> DescribeLabelingJobAsync(string labelingJobName, CancellationToken cancellationToken = default) =>
        _created.TryGetValue(labelingJobName, out var r)
            ? Task.FromResult(new DescribeLabelingJobResponse { LabelingJobName = r.LabelingJobName, LabelingJobStatus = "InProgress", InputConfig = r.InputConfig, Tags = r.Tags })
            : throw new SageMakerResourceNotFoundException($"labeling job {labelingJobName} does not exist (dry run)", HttpStatusCode.BadRequest);

    public Task<ListLabelingJobsResponse> ListLabelingJobsAsync(ListLabelingJobsRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(new ListLabelingJobsResponse { LabelingJobSummaryList = _created.Values.Select(r => new LabelingJobSummary { LabelingJobName = r.LabelingJobName, LabelingJobStatus = "InProgress" }).ToList() });

    public Task StopLabelingJobAsync(string labelingJobName, CancellationToken cancellationToken = default) => Task.CompletedTask;
}
