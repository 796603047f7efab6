using System.CommandLine;

namespace EdgeLabeling.Cli.Commands;

internal static class CommandCatalog
{
    /// <summary>Every subcommand of edgelabel; add one line per command.</summary>
    public static IEnumerable<Command> All()
    {
        yield return LabelCommand.Create();
        yield return CalibrateCommand.Create();
        yield return RetuneCommand.Create();
        yield return EstimateCommand.Create();
        yield return MergeCommand.Create();
        yield return ExportCommand.Create();
        yield return BatchCommand.Create();
        yield return PipelineCommand.Create();
        yield return FleetCommand.Create();
        yield return PendingCommand.Create();
        yield return ReviewCommand.Create();
        yield return ReleaseModelCommand.Create();
        yield return PromoteCommand.Create();
    }
}
