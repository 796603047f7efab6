using System.CommandLine;
using EdgeLabeling.Cli.Commands;

// Each command lives in Commands/<Name>Command.cs and is registered here, one line each.
var root = new RootCommand("edgelabel: label object-detection images on the edge, send only the uncertain ones to people.");
foreach (var command in CommandCatalog.All())
{
    root.Subcommands.Add(command);
}

return await root.Parse(args).InvokeAsync();
