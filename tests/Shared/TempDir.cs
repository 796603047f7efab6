namespace EdgeLabeling.Tests.Shared;

/// <summary>
/// A scratch folder under the system temp directory, deleted at the end of the test. The one temp-folder helper of
/// every test project (compiled into each by tests/Directory.Build.props).
/// </summary>
public sealed class TempDir : IDisposable
{
    /// <summary>Creates a new, empty folder named <c>{prefix}{random}</c>.</summary>
    public TempDir(string prefix = "edgelabel-test-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>The path of <paramref name="name"/> inside the folder (not created).</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Creates (if needed) and returns the sub-folder <paramref name="name"/>.</summary>
    public string Sub(string name) => Directory.CreateDirectory(System.IO.Path.Combine(Path, name)).FullName;

    /// <summary>Deletes the folder; one a process still holds open is left behind (harmless in a temp folder).</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
