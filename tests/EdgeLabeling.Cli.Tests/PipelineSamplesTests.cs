using EdgeLabeling.Cli.Pipeline;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Cli.Tests;

/// <summary>How the pipeline finds a dataset line's input image, ground truth and model boxes for the dataset scoring.</summary>
public sealed class PipelineSamplesTests
{
    private static string Sha(char c) => new(c, 64);

    private static string SourceRef(string sha) => $"s3://in/incoming/site/2026/11/26/{sha}.jpg";

    [Fact]
    public void Find_LineOfAnInputImage_GivesItsLabelFileAndTheSidecarsModelBoxes()
    {
        var modelBoxes = new[] { new PixelBox(0, 0, 0, 10, 10, 0.4) };
        var samples = new PipelineSamples([new InputImage("/x/b.jpg", "b.jpg", 10, Sha('b'))], "/labels",
            new Dictionary<string, SidecarFacts> { [Sha('b')] = new("human-review", "b.jpg", modelBoxes) });

        var sample = samples.Find(SourceRef(Sha('b').ToUpperInvariant()));

        Assert.NotNull(sample);
        Assert.Equal(Path.Combine("/labels", "b.txt"), sample.LabelFile);
        Assert.Equal(modelBoxes, sample.ModelBoxes);
    }

    [Fact]
    public void Find_LineOfTheReencodedUpload_FindsTheImageWithoutModelBoxesWhenThereIsNoSidecar()
    {
        // The edge re-encodes EXIF-rotated frames, so the dataset line carries the upload's hash, not the file's.
        var samples = new PipelineSamples([new InputImage("/x/r.jpg", "r.jpg", 10, Sha('a'), UploadSha256: Sha('c'))], "/labels", new Dictionary<string, SidecarFacts>());

        var sample = samples.Find(SourceRef(Sha('c')));

        Assert.NotNull(sample);
        Assert.Equal(Path.Combine("/labels", "r.txt"), sample.LabelFile);
        Assert.Empty(sample.ModelBoxes);
    }

    [Fact]
    public void Find_LineOfAnotherImage_IsNull()
    {
        var samples = new PipelineSamples([new InputImage("/x/a.jpg", "a.jpg", 10, Sha('a'))], "/labels", new Dictionary<string, SidecarFacts>());

        Assert.Null(samples.Find(SourceRef(Sha('d'))));
    }
}
