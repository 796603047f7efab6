using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;
using EdgeLabeling.Labeling.Merge;

namespace EdgeLabeling.Cli.Pipeline;

/// <summary>Precision, recall and mAP@0.5 of one set of labels against the samples' ground truth.</summary>
internal sealed record QualityScore(int Images, DetectionCounts Counts, double Map50)
{
    public double Precision => Counts.Precision;
    public double Recall => Counts.Recall;
}

/// <summary>The dataset's quality three ways, on the images that made it into the dataset.</summary>
/// <param name="Merged">Every dataset line: human labels where people labeled, automatic labels elsewhere.</param>
/// <param name="Automatic">Only the lines the edge labeled on its own (auto-label outcome).</param>
/// <param name="ModelOnly">The model's boxes on every dataset image (pre-annotations of reviewed ones): what trusting the model everywhere would give.</param>
internal sealed record QualityReport(QualityScore Merged, QualityScore Automatic, QualityScore ModelOnly, int LinesWithoutSample, double Iou)
{
    /// <summary>
    /// mAP needs a ranking and dataset lines carry no single score. Boxes are ranked by the confidence in
    /// their manifest metadata (objects[]), with every human box above every model box: a person drew or
    /// confirmed it, and Ground Truth writes confidence 0.00 for one worker per object, which means "no
    /// consolidation", not "unsure". So a human box ranks at 1 + its confidence, a model box at the model's score.
    /// </summary>
    public const string Ranking = "human boxes rank above model boxes (score 1 + Ground Truth confidence, which is 0.00 with one worker); model boxes rank by the model's confidence";
}

/// <summary>What the edge said about an uploaded image, read back from its sidecar.</summary>
internal sealed record SidecarFacts(string Outcome, string? OriginalFile, IReadOnlyList<PixelBox> ModelBoxes);

/// <summary>Scores the merged dataset against YOLO ground truth, finding each line's sample by the image SHA-256 in its key.</summary>
internal static class DatasetQuality
{
    public static QualityReport Evaluate(
        string manifestPath,
        string attribute,
        IReadOnlyList<InputImage> images,
        string labelsDirectory,
        int classCount,
        IReadOnlyDictionary<string, SidecarFacts> sidecarsBySha,
        double iou = 0.5)
    {
        var bySha = images.SelectMany(i => i.Addresses.Select(a => (Address: a, Image: i))).ToDictionary(x => x.Address, x => x.Image, StringComparer.OrdinalIgnoreCase);
        var merged = new Accumulator(classCount, iou);
        var automatic = new Accumulator(classCount, iou);
        var modelOnly = new Accumulator(classCount, iou);
        var orphans = 0;
        foreach (var line in File.ReadLines(manifestPath))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var label = GroundTruthManifest.Parse(line, attribute);
            var sha = ImageIdentity.KeyOf(label.SourceRef);
            if (!bySha.TryGetValue(sha, out var image))
            {
                orphans++;
                continue;
            }

            var labelFile = Path.Combine(labelsDirectory, Path.GetFileNameWithoutExtension(image.FileName) + ".txt");

            // As in YOLO datasets, an image without a label file has no objects.
            IReadOnlyList<PixelBox> truth = File.Exists(labelFile) ? YoloLabelFile.Read(labelFile, label.Size, classCount) : [];
            var ranked = label.Boxes.Select(b => label.HumanAnnotated ? b with { Confidence = 1 + b.Confidence } : b).ToList();
            merged.Add(ranked, truth);
            if (!label.HumanAnnotated)
            {
                automatic.Add(ranked, truth);
                modelOnly.Add(ranked, truth);
            }
            else
            {
                modelOnly.Add(sidecarsBySha.TryGetValue(sha, out var facts) ? facts.ModelBoxes : [], truth);
            }
        }

        return new QualityReport(merged.Score(), automatic.Score(), modelOnly.Score(), orphans, iou);
    }

    private sealed class Accumulator(int classCount, double iou)
    {
        private readonly AveragePrecision _ap = new(classCount, iou);
        private DetectionCounts _counts;
        private int _images;

        public void Add(IReadOnlyList<PixelBox> predictions, IReadOnlyList<PixelBox> truth)
        {
            _images++;
            _ap.Add(predictions, truth);
            _counts += DetectionCounts.Of(predictions, truth, iou);
        }

        public QualityScore Score() => new(_images, _counts, _images == 0 ? double.NaN : _ap.Map());
    }
}
