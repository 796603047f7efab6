namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>The outcome the nucleus reports for a deployment to this device.</summary>
public enum DeploymentStatus
{
    Succeeded,
    Failed,
}

/// <summary>A deployment's outcome and what the failed step printed.</summary>
public sealed record DeploymentResult(DeploymentStatus Status, string Detail);

/// <summary>
/// One core device running one component, with the nucleus rules that decide whether a rollout is caught
/// (greengrass-contract.md, real-world-gaps.md; [NUC] GenericExternalService/Lifecycle):
/// <list type="bullet">
/// <item>a deployment (new version or configuration that changes the lifecycle) stops the running process
/// (SIGTERM, 5 s, SIGKILL), runs <c>Install</c> as root when it has RequiresPrivilege, then <c>Run</c> as the
/// component user;</item>
/// <item>the deployment succeeds as soon as <c>Run</c> is started (RUNNING): a crash after that does not fail it;</item>
/// <item>a non-zero or timed-out <c>Install</c> fails the deployment, which rolls back: the previous
/// configuration is installed and run again;</item>
/// <item>a Run that exits non-zero is ERRORED and restarted; the third error within an hour makes the
/// component BROKEN, and it stays down until the next deployment. Exit 0 is FINISHED (not restarted).</item>
/// </list>
/// </summary>
public sealed class GreengrassDevice : IDisposable
{
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromSeconds(120);
    private readonly PackagedComponent _package;
    private readonly string _thing;
    private readonly Func<IReadOnlyDictionary<string, string?>> _environment;
    private readonly List<DateTimeOffset> _errors = [];
    private readonly Lock _gate = new();
    private CancellationTokenSource? _supervision;
    private Task? _supervisor;

    public GreengrassDevice(PackagedComponent package, string thing, string workPath, Func<IReadOnlyDictionary<string, string?>> environment)
    {
        _package = package;
        _thing = thing;
        WorkPath = workPath;
        _environment = environment;
        DeviceAccounts.CreateWorkFolder(workPath, PackagedComponent.ComponentUser);
    }

    public string WorkPath { get; }

    /// <summary>NEW, RUNNING, ERRORED, BROKEN or FINISHED.</summary>
    public string State { get; private set; } = "NEW";

    /// <summary>The configuration of the deployment now in effect (after a rollback: the previous one).</summary>
    public IReadOnlyDictionary<string, string>? ActiveConfiguration { get; private set; }

    public ComponentRun? Current { get; private set; }

    /// <summary>How many times the Run process was started since the last deployment.</summary>
    public int Starts { get; private set; }

    /// <summary>True while the device still watches the running component and would restart it.</summary>
    public bool Supervising => _supervisor is { IsCompleted: false };

    /// <summary>Every Install output, in order.</summary>
    public List<string> InstallOutputs { get; } = [];

    /// <summary>Deploys the component with <paramref name="configuration"/> merged over its defaults.</summary>
    public async Task<DeploymentResult> DeployAsync(IReadOnlyDictionary<string, string> configuration)
    {
        var previous = ActiveConfiguration;
        await StopAsync();
        var install = await InstallAsync(configuration);
        if (install is not null)
        {
            // failureHandlingPolicy ROLLBACK (the default): the previous configuration goes back on.
            if (previous is not null && await InstallAsync(previous) is null)
            {
                Start(previous);
            }

            return new DeploymentResult(DeploymentStatus.Failed, install);
        }

        Start(configuration);
        // RUNNING is all the nucleus waits for.
        return new DeploymentResult(DeploymentStatus.Succeeded, "");
    }

    /// <summary>Returns the Install step's failure, or null when it succeeded.</summary>
    private async Task<string?> InstallAsync(IReadOnlyDictionary<string, string> configuration)
    {
        var step = _package.Manifest()["Lifecycle"]!["Install"];
        if (step is null)
        {
            return null;
        }

        var privileged = step["RequiresPrivilege"]?.GetValue<bool>() ?? false;
        var script = _package.InterpolatedScript("Install", configuration, _thing, WorkPath);
        var timeout = step["Timeout"] is { } t ? TimeSpan.FromSeconds(t.GetValue<int>()) : InstallTimeout;
        using var run = ComponentRun.StartStep(script, WorkPath, _environment(), privileged);
        var took = await run.WaitForExitAsync(timeout);
        InstallOutputs.Add(run.Output);
        return took is null ? $"Install timed out after {timeout.TotalSeconds} s:\n{run.Output}"
            : run.ExitCode != 0 ? $"Install exited {run.ExitCode}:\n{run.Output}"
            : null;
    }

    private void Start(IReadOnlyDictionary<string, string> configuration)
    {
        lock (_gate)
        {
            ActiveConfiguration = configuration;
            _errors.Clear();
            Starts = 0;
            _supervision = new CancellationTokenSource();
            StartRunLocked();
            var token = _supervision.Token;
            _supervisor = Task.Run(() => SuperviseAsync(token));
        }
    }

    private void StartRunLocked()
    {
        var script = _package.InterpolatedRunScript(ActiveConfiguration!, _thing, WorkPath);
        Current = ComponentRun.StartStep(script, WorkPath, _environment(), privileged: false);
        Starts++;
        State = "RUNNING";
    }

    private async Task SuperviseAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            var run = Current!;
            if (!await run.WaitForExitAsync(token))
            {
                return;
            }

            lock (_gate)
            {
                if (token.IsCancellationRequested)
                {
                    return;
                }

                if (run.ExitCode == 0)
                {
                    State = "FINISHED";
                    return;
                }

                var now = DateTimeOffset.UtcNow;
                _errors.Add(now);
                _errors.RemoveAll(e => now - e > TimeSpan.FromHours(1));
                if (_errors.Count >= 3)
                {
                    State = "BROKEN";
                    return;
                }

                State = "ERRORED";
                StartRunLocked();
            }
        }
    }

    /// <summary>Stops the running process as the nucleus does: SIGTERM, 5 s, SIGKILL.</summary>
    public async Task StopAsync()
    {
        Task? supervisor;
        lock (_gate)
        {
            _supervision?.Cancel();
            supervisor = _supervisor;
        }

        if (supervisor is not null)
        {
            await supervisor;
        }

        if (Current is { HasExited: false } run)
        {
            run.SigTerm();
            if (await run.WaitForExitAsync(TimeSpan.FromSeconds(5)) is null)
            {
                run.SigKill();
                await run.WaitForExitAsync(TimeSpan.FromSeconds(5));
            }
        }

        Current?.Dispose();
        Current = null;
    }

    public void Dispose() => StopAsync().GetAwaiter().GetResult();
}
