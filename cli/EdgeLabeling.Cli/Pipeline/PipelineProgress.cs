using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace EdgeLabeling.Cli.Pipeline;

/// <summary>Where the runner says what it is doing: a live status line on a terminal, plain lines otherwise.</summary>
internal interface IPipelineProgress
{
    /// <summary>A stage starts.</summary>
    void Stage(string name);

    /// <summary>Progress inside the current stage (may be called often; plain output keeps only the meaningful ones).</summary>
    void Update(string text);

    /// <summary>A stage finished, with a one-line result.</summary>
    void Done(string name, string summary, TimeSpan elapsed);
}

/// <summary>Plain lines (CI logs, redirected output, --json where they go to stderr).</summary>
internal sealed class PlainProgress(TextWriter writer) : IPipelineProgress
{
    private string? _lastUpdate;

    public void Stage(string name) => writer.WriteLine($"[pipeline] {name}...");

    public void Update(string text)
    {
        // Pollers report the same numbers many times a second; a log wants each change once.
        if (text != _lastUpdate)
        {
            _lastUpdate = text;
            writer.WriteLine($"[pipeline]   {text}");
        }
    }

    public void Done(string name, string summary, TimeSpan elapsed) =>
        writer.WriteLine($"[pipeline] {name}: {summary} ({elapsed.TotalSeconds:0.0} s)");
}

/// <summary>A Spectre status spinner whose text follows the stage; finished stages stay on screen as a line each.</summary>
internal sealed class SpectreProgress(StatusContext context) : IPipelineProgress
{
    private string _stage = "";

    public void Stage(string name)
    {
        _stage = name;
        context.Status(Markup.Escape(name) + "...");
    }

    public void Update(string text) => context.Status($"{Markup.Escape(_stage)}: {Markup.Escape(text)}");

    public void Done(string name, string summary, TimeSpan elapsed) =>
        AnsiConsole.MarkupLineInterpolated($"[green]✓[/] [bold]{name}[/] {summary} [grey]({elapsed.TotalSeconds:0.0} s)[/]");
}

/// <summary>
/// Sends the in-process edge component's logs to a file: on a device they are JSON on stdout for Greengrass,
/// here they would bury the progress display, yet they are what to read when a stage fails.
/// </summary>
internal sealed class FileLoggerProvider(string path) : ILoggerProvider
{
    private readonly StreamWriter _writer = new(path, append: false) { AutoFlush = true };
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    public void Dispose()
    {
        lock (_gate)
        {
            _writer.Dispose();
        }
    }

    private void Write(string line)
    {
        lock (_gate)
        {
            if (_writer.BaseStream.CanWrite)
            {
                _writer.WriteLine(line);
            }
        }
    }

    private sealed class FileLogger(FileLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var line = $"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {logLevel,-11} {category}: {formatter(state, exception)}";
            owner.Write(exception is null ? line : line + " | " + exception.GetType().Name + ": " + exception.Message);
        }
    }
}
