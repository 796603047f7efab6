using EdgeLabeling.Inference;
using EdgeLabeling.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace EdgeLabeling.Edge.Hosting;

/// <summary>Builds and runs the component host the way <c>edgelabeling-component</c> does.</summary>
public static class EdgeComponentHost
{
    /// <summary>Prefix of environment variables read as options (<c>EDGELABEL_Bucket=...</c>).</summary>
    public const string EnvironmentPrefix = "EDGELABEL_";

    /// <summary>Exit code for invalid configuration or an unusable model.</summary>
    public const int ConfigurationErrorExitCode = 2;

    /// <summary>
    /// A host with JSON console logs (Greengrass collects stdout) and options from the environment
    /// (<c>EDGELABEL_*</c>) overridden by the command line (<c>--Key value</c>, as the recipe passes them).
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(string[] args, EdgeComponentOverrides? overrides = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, DisableDefaults = true });
        builder.Configuration.AddEnvironmentVariables(EnvironmentPrefix);
        builder.Configuration.AddCommandLine(args);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.Logging.AddFilter("Amazon", LogLevel.Warning);
        builder.Logging.AddJsonConsole(o =>
        {
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.IncludeScopes = false;
            o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
        });
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddEdgeComponent(builder.Configuration, overrides);
        return builder;
    }

    /// <summary>Runs until SIGTERM/SIGINT (or, with <c>--self-test</c>, runs <see cref="SelfTest"/>); returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, EdgeComponentOverrides? overrides = null)
    {
        if (SelfTest.Requested(args))
        {
            return await SelfTest.RunAsync(args).ConfigureAwait(false);
        }

        try
        {
            using var host = CreateBuilder(args, overrides).Build();
            // Resolve options and the labeler (model load) before starting, so a configuration error is one
            // clear line on stderr instead of the host's "failed to start" stack trace.
            _ = host.Services.GetRequiredService<IOptions<EdgeOptions>>().Value;
            _ = host.Services.GetRequiredService<IImageLabeler>();
            // Taken before RunAsync, which disposes the service provider on the way out.
            var loops = host.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();
            await host.RunAsync().ConfigureAwait(false);
            // A loop that died stopped the host; exit non-zero so Greengrass marks the component ERRORED and restarts it.
            var failed = loops.FirstOrDefault(s => s.ExecuteTask is { IsFaulted: true });
            if (failed is not null)
            {
                await Console.Error.WriteLineAsync($"edgelabeling-component: {failed.GetType().Name} failed: {failed.ExecuteTask!.Exception?.InnerException?.Message}").ConfigureAwait(false);
                return 1;
            }

            return 0;
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync("edgelabeling-component: invalid configuration: " + string.Join("; ", ex.Failures)).ConfigureAwait(false);
            return ConfigurationErrorExitCode;
        }
        catch (Exception ex) when (IsConfigurationError(ex))
        {
            await Console.Error.WriteLineAsync("edgelabeling-component: " + (ex is InvalidOperationException { InnerException: { } inner } && inner is ModelLoadException or RoutingConfigException ? inner : ex).Message).ConfigureAwait(false);
            return ConfigurationErrorExitCode;
        }
    }

    /// <summary>Errors that mean "fix the configuration", as opposed to bugs or I/O failures.</summary>
    public static bool IsConfigurationError(Exception ex) => ex switch
    {
        ModelLoadException or RoutingConfigException => true,
        InvalidOperationException { InnerException: ModelLoadException or RoutingConfigException } => true,
        // The configuration binder names the key: "Failed to convert configuration value at 'DiskQuotaBytes' to type 'System.Int64'."
        InvalidOperationException ioe when ioe.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) => true,
        _ => false,
    };
}
