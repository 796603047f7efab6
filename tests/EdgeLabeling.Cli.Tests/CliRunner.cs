using System.Diagnostics;

namespace EdgeLabeling.Cli.Tests;

/// <summary>Runs the real edgelabel executable (built next to the tests) as a child process.</summary>
internal static class CliRunner
{
    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EdgeLabelingStack.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (EdgeLabelingStack.sln) not found above the test folder");
    }

    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => RunIn(RepoRoot, TimeSpan.FromMinutes(5), args);

    public static (int ExitCode, string Stdout, string Stderr) RunIn(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "edgelabel.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"edgelabel {string.Join(' ', args)} did not finish within {timeout}");
        }

        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
