using EdgeLabeling.Contracts;

namespace EdgeLabeling.Evaluation;

/// <summary>Precision, recall and mAP@0.5 of one set of labels against the samples' ground truth.</summary>
public sealed record QualityScore(int Images, DetectionCounts Counts, double Map50)
{
    public double Precision => Counts.Precision;
    public double Recall => Counts.Recall;
}

/// <summary>The dataset's quality three ways, on the images that made it into the dataset.</summary>
/// <param name="Merged">Every dataset line: human labels where people labeled, automatic labels elsewhere.</param>
/// <param name="Automatic">Only the lines the edge labeled on its own (auto-label outcome).</param>
/// <param name="ModelOnly">The model's boxes on every dataset image (pre-annotations of reviewed ones): what trusting the model everywhere would give.</param>
/// <param name="LinesWithoutSample">Dataset lines whose image is not one of the samples (not scored).</param>
/// <param name="Iou">The overlap at which a box matches a ground-truth box.</param>
public sealed record QualityReport(QualityScore Merged, QualityScore Automatic, QualityScore ModelOnly, int LinesWithoutSample, double Iou)
{
    /// <summary>
    /// mAP needs a ranking and dataset lines carry no single score. Boxes are ranked by the confidence in
    /// their manifest metadata (objects[]), with every human box above every model box: a person drew or
    /// confirmed it, and Ground Truth writes confidence 0.00 for one worker per object, which means "no
    /// consolidation", not "unsure". So a human box ranks at 1 + its confidence, a model box at the model's score.
    /// </summary>
    public const string Ranking = "human boxes rank above model boxes (score 1 + Ground Truth confidence, which is 0.00 with one worker); model boxes rank by the model's confidence";
}

/// <summary>The ground truth of one dataset image and what the model said about it.</summary>
/// <param name="LabelFile">The image's YOLO label file; as in YOLO datasets, a missing file means no objects.</param>
/// <param name="ModelBoxes">The model's boxes on the image, scored in place of human labels for <see cref="QualityReport.ModelOnly"/>.</param>
public sealed record DatasetSample(string LabelFile, IReadOnlyList<PixelBox> ModelBoxes);

/// <summary>Scores a dataset manifest (Ground Truth augmented-manifest lines) against YOLO ground truth.</summary>
public static class DatasetQuality
{
    /// <summary>
    /// Scores every line of <paramref name="manifestPath"/> under <paramref name="attribute"/>. <paramref name="sampleOf"/>
    /// finds a line's sample from its source-ref; a line it returns null for is counted in
    /// <see cref="QualityReport.LinesWithoutSample"/> and not scored.
    /// </summary>
    public static QualityReport Evaluate(string manifestPath, string attribute, int classCount, Func<string, DatasetSample?> sampleOf, double iou = 0.5)
    {
        ArgumentNullException.ThrowIfNull(sampleOf);
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
            if (sampleOf(label.SourceRef) is not { } sample)
            {
                orphans++;
                continue;
            }

            IReadOnlyList<PixelBox> truth = File.Exists(sample.LabelFile) ? YoloLabelFile.Read(sample.LabelFile, label.Size, classCount) : [];
            var ranked = label.Boxes.Select(b => label.HumanAnnotated ? b with { Confidence = 1 + b.Confidence } : b).ToList();
            merged.Add(ranked, truth);
            if (!label.HumanAnnotated)
            {
                automatic.Add(ranked, truth);
                modelOnly.Add(ranked, truth);
            }
            else
            {
                modelOnly.Add(sample.ModelBoxes, truth);
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
