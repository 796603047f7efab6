namespace EdgeLabeling.IntegrationTests.Packaging;

/// <summary>
/// The component exactly as it ships: scripts/package-component.sh with its defaults (self-contained,
/// linux-x64 and linux-arm64), packaged once for the tests that inspect or run the archives.
/// </summary>
public sealed class SelfContainedPackage : IAsyncLifetime
{
    public const string Version = "0.0.9";

    public string Root { get; } = Directory.CreateTempSubdirectory("edge-sc-").FullName;

    public string OutDirectory => Path.Combine(Root, "package");

    public string Zip(string rid) => Path.Combine(OutDirectory, $"edgelabeling-component-{rid}.zip");

    public Task InitializeAsync() => Scripts.PackageAsync(Version, "--out", OutDirectory);

    public Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class SelfContainedPackageCollection : ICollectionFixture<SelfContainedPackage>
{
    public const string Name = "self-contained component archives";
}
