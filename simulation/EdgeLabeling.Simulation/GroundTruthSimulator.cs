using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeLabeling.Simulation;

/// <summary>
/// SIMULATION ONLY — a local stand-in for the SageMaker Ground Truth control plane, for tests and demos.
/// Serves the awsJson 1.1 protocol on http://127.0.0.1:&lt;ephemeral port&gt; (POST /, X-Amz-Target
/// SageMaker.CreateLabelingJob | DescribeLabelingJob | ListLabelingJobs | StopLabelingJob), verifies
/// SigV4 signatures, validates CreateLabelingJob against its own reading of the API constraints, keeps job
/// state, and when a job completes has a <see cref="SimulatedWorkforce"/> write Ground Truth's output layout
/// and emits the EventBridge state-change event. A stopped or failed job keeps the answers people gave
/// before it ended (<see cref="SetAnswered"/>): they are written to the output location and reported as
/// <c>LabelingJobOutput</c>, as StopLabelingJob's API reference says; a job that ended before any answer
/// reports no <c>LabelingJobOutput</c>. Running jobs never report one.
/// <para>
/// This class is the HTTP host: it checks each request's signature and envelope (target, content type, JSON
/// object) and answers errors in SageMaker's shape; <see cref="SimulatedLabelingJobOperations"/> carries out the
/// operations and <see cref="SimulatedJobRegistry"/> keeps the jobs, moves them between states and writes their output.
/// </para>
/// </summary>
public sealed class GroundTruthSimulator : IAsyncDisposable
{
    public const string TargetPrefix = "SageMaker.";
    public const string ContentType = "application/x-amz-json-1.1";
    private const int MaxBodyBytes = 1 << 20;

    private readonly GroundTruthSimulatorOptions _options;
    private readonly SigV4Verifier _verifier;
    private readonly SimulatedJobRegistry _jobs;
    private readonly SimulatedLabelingJobOperations _operations;
    private readonly ILogger _logger;
    private WebApplication? _app;

    public GroundTruthSimulator(GroundTruthSimulatorOptions options, SimulatedWorkforce workforce, ICreateLabelingJobRules? rules = null, TimeProvider? time = null, ILoggerFactory? loggerFactory = null)
    {
        _options = options;
        time ??= TimeProvider.System;
        _verifier = new SigV4Verifier(options.AccessKeyId, options.SecretAccessKey, options.Region, "sagemaker", options.AllowedClockSkew, time);
        _logger = (loggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger<GroundTruthSimulator>();
        _jobs = new SimulatedJobRegistry(options, workforce, time, _logger);
        _operations = new SimulatedLabelingJobOperations(_jobs, rules ?? new CreateLabelingJobRules(), options.Region);
    }

    /// <summary>The base URL clients send requests to (valid after <see cref="StartAsync"/>).</summary>
    public Uri Endpoint { get; private set; } = new("http://127.0.0.1:0/");

    public GroundTruthSimulatorOptions Options => _options;

    /// <summary>Binds Kestrel to 127.0.0.1 on a free port and starts serving.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
        });
        _app = builder.Build();
        _app.MapPost("/", HandleAsync);
        _app.Map("/{**path}", (HttpContext ctx) => WriteErrorAsync(ctx, new SageMakerApiException(404, "UnknownOperationException", "Only POST / is served (awsJson 1.1).")));
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Endpoint = new Uri(address.EndsWith('/') ? address : address + "/");
        _logger.LogInformation("Ground Truth simulation listening on {Endpoint}", Endpoint);
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        try
        {
            var body = await ReadBodyAsync(ctx.Request, ctx.RequestAborted).ConfigureAwait(false);
            var headers = ctx.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(',', h.Value.Select(v => v ?? "")), StringComparer.Ordinal);
            var query = ctx.Request.Query.SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string>(q.Key, v ?? ""))).ToList();
            var failure = _verifier.Verify(new SignedRequest(ctx.Request.Method, ctx.Request.Path.Value ?? "/", query, headers, body));
            if (failure is not null)
            {
                throw new SageMakerApiException(403, failure.ErrorType, failure.Message);
            }

            var target = headers.GetValueOrDefault("x-amz-target");
            if (string.IsNullOrEmpty(target) || !target.StartsWith(TargetPrefix, StringComparison.Ordinal))
            {
                throw new SageMakerApiException(400, "UnknownOperationException", $"X-Amz-Target '{target}' is missing or not SageMaker.<Operation>.");
            }

            var mediaType = headers.GetValueOrDefault("content-type")?.Split(';')[0].Trim();
            if (!string.Equals(mediaType, ContentType, StringComparison.OrdinalIgnoreCase))
            {
                throw new SageMakerApiException(400, "SerializationException", $"Content-Type must be {ContentType}, not '{mediaType}'.");
            }

            JsonElement request;
            try
            {
                using var doc = JsonDocument.Parse(body.Length == 0 ? "{}"u8.ToArray() : body);
                request = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new SageMakerApiException(400, "SerializationException", $"Request body is not valid JSON: {ex.Message}");
            }

            if (request.ValueKind != JsonValueKind.Object)
            {
                throw new SageMakerApiException(400, "SerializationException", "Request body must be a JSON object.");
            }

            var response = _operations.Invoke(target[TargetPrefix.Length..], request);

            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = ContentType;
            ctx.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
            await ctx.Response.WriteAsync(response?.ToJsonString() ?? "{}", ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (SageMakerApiException ex)
        {
            await WriteErrorAsync(ctx, ex).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            // JsonElement throws this when a member has another JSON type than the operation expects.
            await WriteErrorAsync(ctx, new SageMakerApiException(400, "SerializationException", $"A request member has the wrong JSON type: {ex.Message}")).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel refuses bodies over the limit while they are read.
            await WriteErrorAsync(ctx, new SageMakerApiException(ex.StatusCode, "SerializationException", $"Request body refused: {ex.Message}")).ConfigureAwait(false);
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var ms = new MemoryStream();
        await request.Body.CopyToAsync(ms, cancellationToken).ConfigureAwait(false);
        return ms.ToArray();
    }

    private static Task WriteErrorAsync(HttpContext ctx, SageMakerApiException ex)
    {
        ctx.Response.StatusCode = ex.StatusCode;
        ctx.Response.ContentType = ContentType;
        ctx.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        ctx.Response.Headers["x-amzn-ErrorType"] = ex.ErrorType;
        var json = new JsonObject { ["__type"] = ex.ErrorType, ["Message"] = ex.Message }.ToJsonString();
        return ctx.Response.WriteAsync(json);
    }

    /// <summary>
    /// Runs the simulated workforce over the job's input and completes it: writes the output layout,
    /// sets the counters and LabelingJobOutput, and emits the Completed event (Failed with a reason when the
    /// input cannot be read). Completing a job that already finished changes nothing.
    /// </summary>
    public Task<SimulatedJobStatus> CompleteJobAsync(string jobName, CancellationToken cancellationToken = default) =>
        _jobs.CompleteJobAsync(jobName, cancellationToken);

    /// <summary>
    /// Fails a job on purpose (tests of the Failed path) and emits the Failed event. The answers given so far
    /// (<see cref="SetAnswered"/>) are written as the job's output; with none, the job reports no output.
    /// </summary>
    public Task FailJobAsync(string jobName, string reason, CancellationToken cancellationToken = default) =>
        _jobs.FailJobAsync(jobName, reason, cancellationToken);

    /// <summary>People have answered the first <paramref name="objects"/> data objects of a running job (what a stop or failure keeps).</summary>
    public void SetAnswered(string jobName, long objects) => _jobs.SetAnswered(jobName, objects);

    /// <summary>Puts a held output manifest (<see cref="GroundTruthSimulatorOptions.HoldOutputUntilReleased"/>) into the bucket; false when none is held.</summary>
    public Task<bool> ReleaseOutputAsync(string jobName, CancellationToken cancellationToken = default) =>
        _jobs.ReleaseOutputAsync(jobName, cancellationToken);

    /// <summary>The current status of a job, or null when there is none.</summary>
    public SimulatedJobStatus? StatusOf(string jobName) => _jobs.StatusOf(jobName);

    /// <summary>The state-change event of a job's current state, as EventBridge would deliver it.</summary>
    public string StateChangeEventJson(string jobName) => _jobs.StateChangeEventJson(jobName);

    public async ValueTask DisposeAsync()
    {
        await _jobs.StopBackgroundStepsAsync().ConfigureAwait(false);
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        _jobs.Dispose();
    }
}
