using Amazon.CDK;
using EdgeLabeling.Infra;
using EdgeLabeling.Infra.Configuration;

// Configuration is read once here (cdk.json context, `-c env=<name>`) and passed down as typed props;
// stacks never look at environment variables.
try
{
    var app = new App();
    var config = EdgeLabelingApp.ReadConfig(app);
    var paths = EdgeLabelingApp.ReadAssetPaths(app);
    EdgeLabelingApp.Build(app, config, paths);
    app.Synth();
    return 0;
}
catch (ConfigurationException ex)
{
    Console.Error.WriteLine($"edgelabeling-infra: {ex.Message}");
    return 1;
}
