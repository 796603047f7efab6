using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// Model-versus-human agreement: a model box counts as correct when a human box of the same class
/// overlaps it with IoU at or above the threshold (greedy one-to-one matching, best overlaps first).
/// Accumulated over audit images this is the precision of what the edge labels on its own.
/// </summary>
public sealed class BoxAgreement(double iouThreshold = 0.5)
{
    public double IouThreshold { get; } = iouThreshold;
    public long Images { get; private set; }
    public long ImagesInFullAgreement { get; private set; }
    public long ModelBoxes { get; private set; }
    public long HumanBoxes { get; private set; }
    public long MatchedBoxes { get; private set; }

    /// <summary>Matched model boxes ÷ model boxes (1 when the model drew nothing).</summary>
    public double Precision => ModelBoxes == 0 ? 1.0 : (double)MatchedBoxes / ModelBoxes;

    /// <summary>Matched human boxes ÷ human boxes (1 when people drew nothing).</summary>
    public double Recall => HumanBoxes == 0 ? 1.0 : (double)MatchedBoxes / HumanBoxes;

    /// <summary>Adds one image's boxes and returns how many matched.</summary>
    public int Add(IReadOnlyList<PixelBox> model, IReadOnlyList<PixelBox> human)
    {
        var matched = Match(model, human, IouThreshold);
        Images++;
        ModelBoxes += model.Count;
        HumanBoxes += human.Count;
        MatchedBoxes += matched;
        if (matched == model.Count && matched == human.Count)
        {
            ImagesInFullAgreement++;
        }

        return matched;
    }

    /// <summary>Greedy one-to-one matching by IoU (same class, IoU ≥ threshold); returns the number of pairs.</summary>
    /// <remarks>
    /// Deliberately not <see cref="GreedyMatcher"/>: that one walks predictions by confidence, as detection
    /// metrics require, while model and human boxes are peers here, so all candidate pairs are taken best
    /// overlap first. That keeps the count symmetric in its two arguments and independent of confidences.
    /// </remarks>
    public static int Match(IReadOnlyList<PixelBox> model, IReadOnlyList<PixelBox> human, double iouThreshold)
    {
        var pairs = new List<(double Iou, int M, int H)>();
        for (var m = 0; m < model.Count; m++)
        {
            for (var h = 0; h < human.Count; h++)
            {
                if (model[m].ClassId == human[h].ClassId)
                {
                    var iou = BoxMath.IoU(model[m], human[h]);
                    if (iou >= iouThreshold)
                    {
                        pairs.Add((iou, m, h));
                    }
                }
            }
        }

        pairs.Sort((a, b) => b.Iou.CompareTo(a.Iou));
        var usedM = new bool[model.Count];
        var usedH = new bool[human.Count];
        var count = 0;
        foreach (var (_, m, h) in pairs)
        {
            if (!usedM[m] && !usedH[h])
            {
                usedM[m] = usedH[h] = true;
                count++;
            }
        }

        return count;
    }

    public AgreementSummary ToSummary() => new(IouThreshold, Images, ImagesInFullAgreement, ModelBoxes, HumanBoxes, MatchedBoxes, Math.Round(Precision, 4), Math.Round(Recall, 4));
}

/// <summary>Serializable agreement numbers.</summary>
public sealed record AgreementSummary(double IouThreshold, long Images, long ImagesInFullAgreement, long ModelBoxes, long HumanBoxes, long MatchedBoxes, double Precision, double Recall);
