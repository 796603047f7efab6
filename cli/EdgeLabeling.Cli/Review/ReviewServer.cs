using System.Net;
using System.Security.Cryptography;
using EdgeLabeling.Review.Api;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;

namespace EdgeLabeling.Cli.Review;

/// <summary>What the local review server serves and how callers sign in.</summary>
internal sealed record ReviewServerOptions
{
    /// <summary>0 picks a free port.</summary>
    public int Port { get; init; }

    /// <summary>The built page (review-app/dist); null serves the API only.</summary>
    public string? WebRoot { get; init; }

    /// <summary>The one-time token printed in the URL; a random one when null.</summary>
    public string? Token { get; init; }

    /// <summary>Optional: JWTs signed by this key and issuer are accepted too (tests of the Cognito path).</summary>
    public (RSA Key, string Issuer)? TrustedJwt { get; init; }
}

/// <summary>
/// <c>edgelabel review</c>'s web server: the page and the review API core on 127.0.0.1 (never another
/// interface), the task images behind HMAC-signed short-lived links, and the same security headers the
/// CloudFront distribution sets. Requests whose Host is not this loopback address are refused, so a web
/// page elsewhere cannot reach the server through DNS rebinding.
/// </summary>
internal sealed class ReviewServer : IAsyncDisposable
{
    /// <summary>The page's content security policy (the CloudFront response headers policy sets the same).</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private readonly WebApplication _app;
    private readonly string _token;

    private ReviewServer(WebApplication app, string token)
    {
        _app = app;
        _token = token;
    }

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Where a labeler starts: the page with the token in the fragment (never sent to a server, never logged).</summary>
    public Uri ReviewUrl => new(BaseAddress, "/#token=" + _token);

    public string Token => _token;

    public static async Task<ReviewServer> StartAsync(BuiltInLabelingService backend, IObjectStore objects, ReviewServerOptions options, CancellationToken ct)
    {
        var token = options.Token ?? LocalTokenAuthenticator.NewToken();
        var signer = new HmacImageUrlSigner(RandomNumberGenerator.GetBytes(32));
        var api = new ReviewApi(backend, signer);
        var local = new LocalTokenAuthenticator(token, backend.Options.LabelersGroup);
        IReviewAuthenticator auth = new LocalOrJwtAuthenticator(local, options.TrustedJwt is { } j ? new JwtAuthenticator(j.Key, j.Issuer) : null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);
            k.Limits.MaxRequestBodySize = ReviewApi.MaxBodyBytes + 1;
        });
        var app = builder.Build();
        var server = new ReviewServer(app, token);

        app.Use(async (ctx, next) =>
        {
            var h = ctx.Response.Headers;
            h["Content-Security-Policy"] = ContentSecurityPolicy;
            h["X-Content-Type-Options"] = "nosniff";
            h["Referrer-Policy"] = "no-referrer";
            h["X-Frame-Options"] = "DENY";
            h["Cross-Origin-Opener-Policy"] = "same-origin";
            var host = ctx.Request.Host;
            if (host.Host is not ("127.0.0.1" or "localhost") || host.Port != server.BaseAddress.Port)
            {
                ctx.Response.StatusCode = StatusCodes.Status421MisdirectedRequest;
                await ctx.Response.WriteAsync("this server answers only on " + server.BaseAddress, ctx.RequestAborted).ConfigureAwait(false);
                return;
            }

            await next(ctx).ConfigureAwait(false);
        });

        app.Map("/api/{**rest}", async (HttpContext ctx) =>
        {
            byte[] body;
            try
            {
                using var ms = new MemoryStream();
                await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted).ConfigureAwait(false);
                body = ms.ToArray();
            }
            catch (BadHttpRequestException)
            {
                await WriteAsync(ctx, ApiResponse.Error(413, "body-too-large", $"request bodies are limited to {ReviewApi.MaxBodyBytes} bytes")).ConfigureAwait(false);
                return;
            }

            var path = (ctx.Request.PathBase + ctx.Request.Path).ToString() + ctx.Request.QueryString;
            var result = auth.Authenticate(ctx.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null, backend.Time.GetUtcNow());
            var response = await api.HandleAsync(new ApiRequest(ctx.Request.Method, path, result, body), ctx.RequestAborted).ConfigureAwait(false);
            await WriteAsync(ctx, response).ConfigureAwait(false);
        });

        app.MapGet("/images/{job}/{index}", async (HttpContext ctx, string job, string index) =>
        {
            if (!int.TryParse(index, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i)
                || !signer.Verify(job, i, ctx.Request.Query["exp"], ctx.Request.Query["sig"], backend.Time.GetUtcNow()))
            {
                ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
                await ctx.Response.WriteAsync("this image link is not valid or has expired", ctx.RequestAborted).ConfigureAwait(false);
                return;
            }

            // The link names a task; the image key comes from the task, never from the request.
            var task = await backend.Store.GetTaskAsync(job, i, ctx.RequestAborted).ConfigureAwait(false);
            var (bucket, key) = task is null ? ("", "") : S3Uris.Parse(task.SourceRef);
            await using var stream = task is null ? null : await objects.OpenReadAsync(bucket, key, ctx.RequestAborted).ConfigureAwait(false);
            if (stream is null)
            {
                ctx.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            ctx.Response.ContentType = key.EndsWith(".png", StringComparison.OrdinalIgnoreCase) ? "image/png" : "image/jpeg";
            ctx.Response.Headers.CacheControl = "private, max-age=300";
            await stream.CopyToAsync(ctx.Response.Body, ctx.RequestAborted).ConfigureAwait(false);
        });

        if (options.WebRoot is { } root && Directory.Exists(root))
        {
            var files = new PhysicalFileProvider(Path.GetFullPath(root));
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        }
        else
        {
            app.MapGet("/", () => Results.Text($"The review page is not built: run `npm ci && npm run build:review` (it goes to review-app/dist). The API is at /api/jobs.", "text/plain"));
        }

        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        return server;
    }

    private static async Task WriteAsync(HttpContext ctx, ApiResponse response)
    {
        ctx.Response.StatusCode = response.Status;
        ctx.Response.Headers.CacheControl = "no-store";
        if (response.Body is not null)
        {
            ctx.Response.ContentType = "application/json; charset=utf-8";
            await ctx.Response.WriteAsync(response.Body.ToJsonString(), ctx.RequestAborted).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
