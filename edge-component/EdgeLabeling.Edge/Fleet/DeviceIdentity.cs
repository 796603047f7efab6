using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using EdgeLabeling.Routing;
using Microsoft.Extensions.Options;

namespace EdgeLabeling.Edge.Fleet;

/// <summary>
/// What the device runs, worked out once at start: the model's hash (already computed when the model was
/// loaded), the routing version and the component version. Reported in the status file and the heartbeat.
/// </summary>
public sealed class DeviceIdentity(string modelSha256, string routingVersion, string componentVersion)
{
    public string ModelSha256 { get; } = modelSha256;
    public string RoutingVersion { get; } = routingVersion;
    public string ComponentVersion { get; } = componentVersion;

    public static DeviceIdentity Create(IImageLabeler labeler, RoutingOptions routing, IOptions<EdgeOptions> options) =>
        new(labeler.Detector.ModelSha256, RoutingVersionOf(routing), ComponentVersionOf(options.Value));

    /// <summary>
    /// The policy version plus a short hash of the effective settings (thresholds, per-class overrides, audit
    /// rate): two devices report the same value exactly when they route the same way.
    /// </summary>
    public static string RoutingVersionOf(RoutingOptions routing)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(routing.ToJson())));
        return $"{RoutingOptions.PolicyVersion}+{hash[..12]}";
    }

    private static string ComponentVersionOf(EdgeOptions o)
    {
        if (!string.IsNullOrWhiteSpace(o.ComponentVersion))
        {
            return o.ComponentVersion.Trim();
        }

        var version = (Assembly.GetEntryAssembly() ?? typeof(DeviceIdentity).Assembly).GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        // The SDK appends "+<commit>" to the informational version; the fleet view wants the release.
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus > 0 ? version[..plus] : version;
    }
}
