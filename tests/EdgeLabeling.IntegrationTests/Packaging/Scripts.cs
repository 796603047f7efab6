using System.Diagnostics;
using EdgeLabeling.IntegrationTests.Edge;

namespace EdgeLabeling.IntegrationTests.Packaging;

/// <summary>The result of one script run.</summary>
public sealed record ScriptResult(int ExitCode, string StdOut, string StdErr)
{
    public string Output => StdOut + StdErr;
}

/// <summary>Runs the repository's own scripts (scripts/*.sh) the way a developer or CI does.</summary>
public static class Scripts
{
    public static string Path(string name) => System.IO.Path.Combine(PackagedComponent.RepoRoot, "scripts", name);

    public static async Task<ScriptResult> RunAsync(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("bash", [Path(script), .. args])
        {
            WorkingDirectory = PackagedComponent.RepoRoot,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return new ScriptResult(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs scripts/package-component.sh and fails with its output when it does.</summary>
    public static async Task PackageAsync(params string[] args)
    {
        var result = await RunAsync("package-component.sh", args);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"package-component.sh {string.Join(' ', args)} failed ({result.ExitCode}):\n{result.Output}");
        }
    }
}
