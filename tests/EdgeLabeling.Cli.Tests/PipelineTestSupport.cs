using System.Diagnostics;
using System.Text.Json.Nodes;

namespace EdgeLabeling.Cli.Tests;

/// <summary>A temp folder with a subset of the sample images and their labels, laid out as samples/ is (images/ beside labels/).</summary>
internal sealed class PipelineSampleSubset : IDisposable
{
    /// <summary>
    /// Fifteen samples that take every path with the demo model: near-duplicates (007 of 006; 023 and 024 of
    /// 022), images the model labels on its own (039, 050, 059), and review images including a PNG, an 8-bit
    /// grayscale PNG and an EXIF-rotated JPEG (004, 010, 013).
    /// </summary>
    public static readonly string[] EveryPath =
    [
        "part-001", "part-003", "part-004", "part-006", "part-007", "part-010", "part-013", "part-022",
        "part-023", "part-024", "part-039", "part-048", "part-050", "part-055", "part-059",
    ];

    public PipelineSampleSubset(int count)
        : this(EveryPath.Take(count))
    {
    }

    public PipelineSampleSubset(IEnumerable<string> stems)
    {
        var wanted = stems.ToHashSet(StringComparer.Ordinal);
        Root = Path.Combine(Path.GetTempPath(), "pipeline-test-" + Guid.NewGuid().ToString("N")[..10]);
        Images = Path.Combine(Root, "images");
        Labels = Path.Combine(Root, "labels");
        Output = Path.Combine(Root, "out");
        Directory.CreateDirectory(Images);
        Directory.CreateDirectory(Labels);
        var samples = Path.Combine(CliRunner.RepoRoot, "samples");
        var chosen = Directory.EnumerateFiles(Path.Combine(samples, "images")).Where(f => wanted.Contains(Path.GetFileNameWithoutExtension(f))).ToList();
        Assert.True(chosen.Count == wanted.Count, $"samples/images has {chosen.Count} of the {wanted.Count} images the test needs");
        foreach (var image in chosen)
        {
            File.Copy(image, Path.Combine(Images, Path.GetFileName(image)));
            var label = Path.Combine(samples, "labels", Path.GetFileNameWithoutExtension(image) + ".txt");
            if (File.Exists(label))
            {
                File.Copy(label, Path.Combine(Labels, Path.GetFileName(label)));
            }
        }
    }

    public string Root { get; }
    public string Images { get; }
    public string Labels { get; }
    public string Output { get; }

    public JsonObject Report() => JsonNode.Parse(File.ReadAllText(Path.Combine(Output, "report.json")))!.AsObject();

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Runs the built edgelabel with a controlled environment (CI exports S3_ENDPOINT, which would switch the embedded run to S3).</summary>
internal static class PipelineCli
{
    public static (int ExitCode, string Stdout, string Stderr) Run(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = CliRunner.RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "edgelabel.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                psi.Environment.Remove(key);
            }
            else
            {
                psi.Environment[key] = value;
            }
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"edgelabel {string.Join(' ', args)} did not finish within 3 minutes");
        }

        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public static readonly Dictionary<string, string?> Embedded = new() { ["S3_ENDPOINT"] = null };
}
