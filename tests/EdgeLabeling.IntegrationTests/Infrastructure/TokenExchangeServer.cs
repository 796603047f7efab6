using System.Net;
using System.Text;
using System.Text.Json;

namespace EdgeLabeling.IntegrationTests.Infrastructure;

/// <summary>
/// A stand-in for the Greengrass token exchange service on localhost: answers
/// <c>GET /2016-11-01/credentialprovider/</c> with <c>{AccessKeyId, SecretAccessKey, Token, Expiration}</c>
/// (what the AWS SDK container credential provider reads) only when the Authorization header carries the
/// expected token, exactly as the nucleus checks a component's SVCUID. It can be switched off (connection
/// refused) or made to hand out wrong keys, to test how a component copes.
/// </summary>
public sealed class TokenExchangeServer : IDisposable
{
    public const string PathPrefix = "/2016-11-01/credentialprovider/";

    private readonly string _token;
    private readonly Func<(string AccessKey, string SecretKey)> _keys;
    private HttpListener? _listener;
    private int _served;
    private int _rejected;

    public TokenExchangeServer(string authorizationToken, Func<(string AccessKey, string SecretKey)> keys)
    {
        ArgumentException.ThrowIfNullOrEmpty(authorizationToken);
        _token = authorizationToken;
        _keys = keys;
        Port = FreePort.Next();
    }

    public int Port { get; }

    /// <summary>What the nucleus sets as AWS_CONTAINER_CREDENTIALS_FULL_URI: <c>http://localhost:&lt;port&gt;/2016-11-01/credentialprovider/</c>.</summary>
    public string FullUri => $"http://localhost:{Port}{PathPrefix}";

    /// <summary>
    /// Lifetime of the credentials handed out. Short by default: the SDK refreshes credentials that expire within
    /// 15 minutes, so a component that never asks again (or caches keys itself) shows up as a single fetch.
    /// </summary>
    public TimeSpan CredentialLifetime { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Hand out wrong keys while set (S3 then answers 403 InvalidAccessKeyId).</summary>
    public volatile bool ServeBadKeys;

    public int Served => Volatile.Read(ref _served);

    public int Rejected => Volatile.Read(ref _rejected);

    public bool Running => _listener is not null;

    public void Start()
    {
        if (_listener is not null)
        {
            return;
        }

        var listener = new HttpListener();
        listener.Prefixes.Add($"http://localhost:{Port}/");
        listener.Start();
        _listener = listener;
        _ = Task.Run(() => LoopAsync(listener));
    }

    /// <summary>Stops listening: the component then gets "connection refused", as when TES is down.</summary>
    public void Stop()
    {
        var l = Interlocked.Exchange(ref _listener, null);
        if (l is null)
        {
            return;
        }

        l.Stop();
        l.Close();
    }

    private async Task LoopAsync(HttpListener listener)
    {
        while (listener.IsListening)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                Handle(ctx);
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException)
            {
            }
        }
    }

    private void Handle(HttpListenerContext ctx)
    {
        var res = ctx.Response;
        if (ctx.Request.HttpMethod != "GET" || ctx.Request.Url?.AbsolutePath.TrimEnd('/') != PathPrefix.TrimEnd('/'))
        {
            res.StatusCode = 404;
            res.Close();
            return;
        }

        if (ctx.Request.Headers["Authorization"] != _token)
        {
            Interlocked.Increment(ref _rejected);
            Write(res, 401, """{"code":"Unauthorized","message":"Request is not authorized"}""");
            return;
        }

        Interlocked.Increment(ref _served);
        var (access, secret) = ServeBadKeys ? ("AKIDBADBADBADBADBAD0", "wrong-secret-wrong-secret-wrong-secret00") : _keys();
        // radosgw has no STS here, so the session token is empty; the SDK then sends no x-amz-security-token.
        var body = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["AccessKeyId"] = access,
            ["SecretAccessKey"] = secret,
            ["Token"] = "",
            ["Expiration"] = DateTime.UtcNow.Add(CredentialLifetime).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        });
        Write(res, 200, body);
    }

    private static void Write(HttpListenerResponse res, int status, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        res.StatusCode = status;
        res.ContentType = "application/json";
        res.ContentLength64 = bytes.Length;
        res.OutputStream.Write(bytes);
        res.Close();
    }

    public void Dispose() => Stop();
}
