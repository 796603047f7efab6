using System.Diagnostics;
using System.Text.Json.Nodes;
using Amazon.S3.Model;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.IntegrationTests.Infrastructure;

/// <summary>
/// A radosgw user standing in for a device's token-exchange role: it owns nothing and may only do what a
/// bucket policy mirroring the edge-fleet stack's role policy grants (PutObject/GetObject/AbortMultipartUpload
/// under <c>incoming/&lt;thing&gt;/</c> and <c>auto-labels/&lt;thing&gt;/</c>, ListBucket only with an
/// <c>s3:prefix</c> condition). Created with <c>radosgw-admin</c> on the shared server and removed afterwards.
/// </summary>
public sealed class RgwDeviceUser : IAsyncDisposable
{
    private RgwDeviceUser(string uid, string accessKey, string secretKey)
    {
        Uid = uid;
        AccessKey = accessKey;
        SecretKey = secretKey;
    }

    public string Uid { get; }

    public string AccessKey { get; }

    public string SecretKey { get; }

    /// <summary>The shared server's ceph.conf (scripts/rgw.sh keeps it in RGW_DIR, by default $TMPDIR/rgw-s3).</summary>
    public static string CephConf =>
        Path.Combine(Environment.GetEnvironmentVariable("RGW_DIR") is { Length: > 0 } d ? d : Path.Combine(Path.GetTempPath(), "rgw-s3"), "ceph.conf");

    /// <summary>The user of the test runner's keys, as scripts/rgw.sh creates it.</summary>
    public const string BucketOwnerUid = "tester";

    public static async Task<RgwDeviceUser> CreateAsync()
    {
        var id = Guid.NewGuid().ToString("N");
        var user = new RgwDeviceUser("edge-device-" + id[..10], ("DEV" + id[..17]).ToUpperInvariant(), "devsecret" + id);
        await AdminAsync("user", "create", "--uid=" + user.Uid, "--display-name=edge device " + id[..10], "--access-key=" + user.AccessKey, "--secret=" + user.SecretKey);
        return user;
    }

    /// <summary>Grants this user exactly the device policy on <paramref name="bucket"/> for <paramref name="thing"/>.</summary>
    public async Task ApplyDevicePolicyAsync(string bucket, string thing)
    {
        var principal = $"arn:aws:iam:::user/{Uid}";
        var prefixes = new[] { $"{ObjectKeyLayout.IncomingPrefix}{thing}/*", $"{LabelingConventions.AutoLabelsPrefix}{thing}/*" };
        var policy = new JsonObject
        {
            ["Version"] = "2012-10-17",
            ["Statement"] = new JsonArray(
                new JsonObject
                {
                    ["Sid"] = "UploadOwnObjects",
                    ["Effect"] = "Allow",
                    ["Principal"] = new JsonObject { ["AWS"] = new JsonArray(principal) },
                    ["Action"] = new JsonArray("s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"),
                    ["Resource"] = new JsonArray(prefixes.Select(p => (JsonNode?)$"arn:aws:s3:::{bucket}/{p}").ToArray()),
                },
                new JsonObject
                {
                    ["Sid"] = "ListOwnPrefixes",
                    ["Effect"] = "Allow",
                    ["Principal"] = new JsonObject { ["AWS"] = new JsonArray(principal) },
                    ["Action"] = new JsonArray("s3:ListBucket"),
                    ["Resource"] = new JsonArray($"arn:aws:s3:::{bucket}"),
                    ["Condition"] = new JsonObject { ["StringLike"] = new JsonObject { ["s3:prefix"] = new JsonArray(prefixes.Select(p => (JsonNode?)p).ToArray()) } },
                },
                new JsonObject
                {
                    // radosgw has no BucketOwnerEnforced: the device user owns what it uploads, so the test's
                    // own user (scripts/rgw.sh creates "tester") needs a grant to read the objects back.
                    ["Sid"] = "TestsReadBack",
                    ["Effect"] = "Allow",
                    ["Principal"] = new JsonObject { ["AWS"] = new JsonArray($"arn:aws:iam:::user/{BucketOwnerUid}") },
                    ["Action"] = new JsonArray("s3:GetObject", "s3:DeleteObject"),
                    ["Resource"] = new JsonArray($"arn:aws:s3:::{bucket}/*"),
                }),
        };
        using var admin = S3TestServer.CreateClient();
        await admin.PutBucketPolicyAsync(new PutBucketPolicyRequest { BucketName = bucket, Policy = policy.ToJsonString() });
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await AdminAsync("user", "rm", "--uid=" + Uid);
        }
        catch (InvalidOperationException)
        {
            // Best effort: the server is a throwaway one.
        }
    }

    private static async Task AdminAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("radosgw-admin", ["-c", CephConf, .. args]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("radosgw-admin did not start");
        var stderr = p.StandardError.ReadToEndAsync();
        _ = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"radosgw-admin {string.Join(' ', args)} failed ({p.ExitCode}) with {CephConf}: {await stderr}");
        }
    }
}
