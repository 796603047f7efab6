using System.CommandLine;
using System.Security.Cryptography;
using Amazon.Runtime;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Cli.Review;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel review [--output DIR] [--s3-endpoint URL] [--port N]</c>: serves the review page and API on
/// 127.0.0.1 over the task store of a <c>pipeline --labelers people</c> run (its OUTPUT/cloud/review.db and
/// object store), e.g. to go on labeling after that run was interrupted. Completion events are appended to
/// OUTPUT/cloud/review-events.jsonl (EventBridge JSON, one per line) for the merge.
/// Exit codes: 0 stopped with Ctrl-C, 2 bad input.
/// </summary>
internal static class ReviewCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo?>("--output", "-o") { Description = "The pipeline output folder holding cloud/review.db (default out/pipeline)." };
        var s3 = new Option<string?>("--s3-endpoint") { Description = "S3-compatible endpoint holding the images (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); default: OUTPUT/object-store." };
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1 (default: a free one)." };
        var web = new Option<DirectoryInfo?>("--web") { Description = "The built page (default review-app/dist)." };
        var jwtKey = new Option<FileInfo?>("--trust-jwt-key") { Description = "PEM public key whose RS256 JWTs are accepted besides the printed token (testing the Cognito path)." };
        var jwtIssuer = new Option<string?>("--jwt-issuer") { Description = "Issuer (iss) those JWTs must carry." };
        var command = new Command("review", "Serve the review app (page + API) on 127.0.0.1 so people label the review images in a browser.")
        {
            output, s3, port, web, jwtKey, jwtIssuer,
        };
        command.SetAction((p, ct) => RunAsync(p.GetValue(output), p.GetValue(s3), p.GetValue(port), p.GetValue(web), p.GetValue(jwtKey), p.GetValue(jwtIssuer), ct));
        return command;
    }

    private static async Task<int> RunAsync(DirectoryInfo? outputDir, string? s3Endpoint, int port, DirectoryInfo? web, FileInfo? jwtKey, string? jwtIssuer, CancellationToken ct)
    {
        var output = Path.GetFullPath(outputDir?.FullName ?? Path.Combine("out", "pipeline"));
        var db = Path.Combine(output, "cloud", "review.db");
        if (!File.Exists(db))
        {
            return CliErrors.Fail("review", $"no task store at {db}: run `edgelabel pipeline --labelers people --output {output}` first", 2);
        }

        if (port is < 0 or > 65535)
        {
            return CliErrors.Fail("review", $"--port {port} is not a TCP port", 2);
        }

        if ((jwtKey is null) != (jwtIssuer is null))
        {
            return CliErrors.Fail("review", "--trust-jwt-key and --jwt-issuer go together", 2);
        }

        IObjectStore objects;
        if (s3Endpoint is null)
        {
            objects = new FileSystemObjectStore(Path.Combine(output, "object-store"));
        }
        else
        {
            var key = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID");
            var secret = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY");
            if (!Uri.TryCreate(s3Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(key) || string.IsNullOrEmpty(secret))
            {
                return CliErrors.Fail("review", "--s3-endpoint needs an http(s) URL and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment", 2);
            }

            var settings = new S3Settings { ServiceUrl = s3Endpoint, Region = Environment.GetEnvironmentVariable("AWS_REGION") ?? "us-east-1", ChecksumWhenRequired = true };
            objects = new S3ObjectStore(settings.CreateClient(new BasicAWSCredentials(key, secret)), settings);
        }

        RSA? rsa = null;
        try
        {
            if (jwtKey is not null)
            {
                rsa = RSA.Create();
                rsa.ImportFromPem(await File.ReadAllTextAsync(jwtKey.FullName, ct).ConfigureAwait(false));
            }

            var events = Path.Combine(output, "cloud", "review-events.jsonl");
            var backend = new BuiltInLabelingService(new SqliteReviewTaskStore(db), objects,
                new CallbackJobStateChangePublisher((json, c) => File.AppendAllTextAsync(events, json + "\n", c)), new ReviewOptions());
            await using var server = await ReviewServer.StartAsync(backend, objects,
                new ReviewServerOptions { Port = port, WebRoot = ReviewWebRoot.Find(web?.FullName), TrustedJwt = rsa is null ? null : (rsa, jwtIssuer!) }, ct).ConfigureAwait(false);
            System.Console.Out.WriteLine($"Label the review images in a browser: {server.ReviewUrl}");
            System.Console.Out.WriteLine($"Completed jobs are appended to {events}. Ctrl-C stops.");
            try
            {
                while (true)
                {
                    await backend.SweepAsync(ct).ConfigureAwait(false);
                    await Task.Delay(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return 0;
            }
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException or IOException)
        {
            return CliErrors.Fail("review", ex.Message, 2);
        }
        finally
        {
            rsa?.Dispose();
        }
    }
}
