using System.CommandLine;
using EdgeLabeling.Cli.Commands;

// Each command lives in Commands/<Name>Command.cs and is registered in CommandCatalog, one line each.
var root = new RootCommand("edgelabel: label object-detection images on the edge, send only the uncertain ones to people.");
foreach (var command in CommandCatalog.For(args))
{
    root.Subcommands.Add(command);
}

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // One line naming the problem (e.g. a missing --model), not a page of help; `--help` shows usage.
    var where = parsed.CommandResult.Command == root ? "edgelabel" : $"edgelabel {parsed.CommandResult.Command.Name}";
    Console.Error.WriteLine($"{where}: error: {string.Join("; ", parsed.Errors.Select(e => e.Message))} (see --help)");
    return 2;
}

return await parsed.InvokeAsync();
