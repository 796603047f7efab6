using System.CommandLine;

namespace EdgeLabeling.Cli.Commands;

internal static class CommandCatalog
{
    /// <summary>Every subcommand of edgelabel by name; add one line per command.</summary>
    public static readonly IReadOnlyList<(string Name, Func<Command> Create)> Entries =
    [
        ("label", LabelCommand.Create),
        ("calibrate", CalibrateCommand.Create),
        ("retune", RetuneCommand.Create),
        ("estimate", EstimateCommand.Create),
        ("merge", MergeCommand.Create),
        ("export", ExportCommand.Create),
        ("batch", BatchCommand.Create),
        ("pipeline", PipelineCommand.Create),
        ("fleet", FleetCommand.Create),
        ("pending", PendingCommand.Create),
        ("review", ReviewCommand.Create),
        ("release-model", ReleaseModelCommand.Create),
        ("promote", PromoteCommand.Create),
    ];

    /// <summary>Every subcommand, built.</summary>
    public static IEnumerable<Command> All() => Entries.Select(e => e.Create());

    /// <summary>
    /// The commands a command line needs: only the one it names when its first word is a command, otherwise all
    /// (root help, an unknown or missing command). Building a command touches the types its options and actions
    /// use, so building all thirteen for one `edgelabel label` run was start-up work for nothing.
    /// </summary>
    public static IEnumerable<Command> For(IReadOnlyList<string> args)
    {
        var named = args.Count > 0 ? Entries.FirstOrDefault(e => e.Name == args[0]) : default;
        return named.Create is null ? All() : [named.Create()];
    }
}
