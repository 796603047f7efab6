using EdgeLabeling.Cli.Label;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Cli.Tests.Label;

/// <summary><c>edgelabel label</c> takes the key layout's image extensions and, to quarantine them with a reason, the formats Ground Truth cannot take.</summary>
public sealed class LabelRunnerImageExtensionTests
{
    [Fact]
    public void LabelRunnerImageExtensions_IncludeTheAcceptedOnesAndTheQuarantinedOthers()
    {
        Assert.All(ObjectKeyLayout.ImageExtensions, e => Assert.Contains("." + e, LabelRunner.ImageExtensions));
        Assert.Contains(".GIF", LabelRunner.ImageExtensions);
    }
}
