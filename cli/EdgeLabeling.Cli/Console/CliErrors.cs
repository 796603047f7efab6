namespace EdgeLabeling.Cli.Console;

/// <summary>One-line error reporting shared by commands: "edgelabel COMMAND: error: MESSAGE" on stderr.</summary>
internal static class CliErrors
{
    public static int Fail(string command, string message, int exitCode)
    {
        System.Console.Error.WriteLine($"edgelabel {command}: error: {message.ReplaceLineEndings(" ").Trim()}");
        return exitCode;
    }
}

/// <summary>
/// An <see cref="IProgress{T}"/> that reports on the calling thread. <see cref="Progress{T}"/> posts to the
/// thread pool, so reports could arrive out of order or after the run has returned.
/// </summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
