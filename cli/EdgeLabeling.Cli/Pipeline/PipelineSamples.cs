using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;
using EdgeLabeling.Labeling.Merge;

namespace EdgeLabeling.Cli.Pipeline;

/// <summary>What the edge said about an uploaded image, read back from its sidecar.</summary>
internal sealed record SidecarFacts(string Outcome, string? OriginalFile, IReadOnlyList<PixelBox> ModelBoxes);

/// <summary>
/// The pipeline's input images as samples for <see cref="DatasetQuality"/>: a dataset line finds its image by the
/// content address in its source-ref, read with the merge's own rule (<see cref="ImageIdentity.KeyOf"/>), its ground
/// truth in the labels folder under the image's file name, and the model's boxes in the edge's sidecar.
/// </summary>
internal sealed class PipelineSamples(IReadOnlyList<InputImage> images, string labelsDirectory, IReadOnlyDictionary<string, SidecarFacts> sidecarsBySha)
{
    private readonly Dictionary<string, InputImage> _byAddress = images
        .SelectMany(i => i.Addresses.Select(a => (Address: a, Image: i)))
        .ToDictionary(x => x.Address, x => x.Image, StringComparer.OrdinalIgnoreCase);

    /// <summary>The sample of the image a dataset line points at, or null when it is none of the input images.</summary>
    public DatasetSample? Find(string sourceRef)
    {
        var sha = ImageIdentity.KeyOf(sourceRef);
        if (!_byAddress.TryGetValue(sha, out var image))
        {
            return null;
        }

        var labelFile = Path.Combine(labelsDirectory, Path.GetFileNameWithoutExtension(image.FileName) + ".txt");
        return new DatasetSample(labelFile, sidecarsBySha.TryGetValue(sha, out var facts) ? facts.ModelBoxes : []);
    }
}
