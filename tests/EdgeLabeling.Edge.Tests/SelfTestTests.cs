using EdgeLabeling.Edge.Hosting;

namespace EdgeLabeling.Edge.Tests;

/// <summary>
/// The component's <c>--self-test</c> (the Greengrass Install step), run in-process with the real model. The
/// tests run as root, as the Install step does (RequiresPrivilege); the harness covers the drop to the
/// component's user.
/// </summary>
public sealed class SelfTestTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly StringWriter _out = new();
    private readonly StringWriter _err = new();

    private static string ModelPath
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                var model = Path.Combine(d.FullName, "samples", "models", "parts-detector.onnx");
                if (File.Exists(model))
                {
                    return model;
                }
            }

            throw new InvalidOperationException("samples/models/parts-detector.onnx not found above " + AppContext.BaseDirectory);
        }
    }

    private string[] Args(params string[] extra) =>
    [
        SelfTest.Switch, "--ThingName", "core-1", "--WorkDirectory", Path.Combine(_dir.Path, "work"), "--ModelPath", ModelPath,
        "--InputDirectory", Path.Combine(_dir.Path, "lib", "inbox"), "--Bucket", "edge-bucket", "--Region", "eu-west-1", "--CameraGroup", "", .. extra,
    ];

    [Fact]
    public async Task RunAsync_ValidOptionsAsRoot_CreatesInputFolderOpensQueueAndPasses()
    {
        Assert.True(SelfTest.Requested(Args()));

        var code = await SelfTest.RunAsync(Args(), _out, _err);

        Assert.True(code == 0, _err.ToString());
        Assert.Contains("self-test passed", _out.ToString());
        var inbox = Path.Combine(_dir.Path, "lib", "inbox");
        Assert.True(Directory.Exists(inbox));
        var mode = OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(inbox);
        Assert.Equal(SelfTest.InputDirectoryMode, mode);
        Assert.True(File.Exists(Path.Combine(_dir.Path, "work", "queue", "outbox.db")));
        // The probe file is gone: the intake never sees it.
        Assert.Empty(Directory.GetFileSystemEntries(inbox));
    }

    [Fact]
    public async Task RunAsync_InvalidOption_ExitsTwoNamingTheFieldAndTouchesNothing()
    {
        var code = await SelfTest.RunAsync(Args("--UploadJpegQuality", "500"), _out, _err);

        Assert.Equal(EdgeComponentHost.ConfigurationErrorExitCode, code);
        Assert.Contains("UploadJpegQuality: 500 must be 1-100", _err.ToString());
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "lib")));
    }

    [Fact]
    public async Task RunAsync_ModelFileIsNotAModel_ExitsTwoNamingTheModel()
    {
        var fake = Path.Combine(_dir.Path, "fake.onnx");
        await File.WriteAllTextAsync(fake, "not a model");

        var code = await SelfTest.RunAsync([.. Args(), "--ModelPath", fake], _out, _err);

        Assert.Equal(EdgeComponentHost.ConfigurationErrorExitCode, code);
        Assert.Contains("fake.onnx", _err.ToString());
    }

    [Fact]
    public async Task RunAsync_InputPathIsAFile_ExitsThreeNamingTheFolder()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "lib"));
        await File.WriteAllTextAsync(Path.Combine(_dir.Path, "lib", "inbox"), "a file where the folder should be");

        var code = await SelfTest.RunAsync(Args(), _out, _err);

        Assert.Equal(SelfTest.EnvironmentErrorExitCode, code);
        Assert.Contains("self-test failed at input folder", _err.ToString());
        Assert.Contains(Path.Combine(_dir.Path, "lib", "inbox"), _err.ToString());
    }

    public void Dispose()
    {
        _dir.Dispose();
        _out.Dispose();
        _err.Dispose();
    }
}
