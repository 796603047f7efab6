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
        // Called once per reviewed image by the merge: the usual handful of boxes stays on the stack.
        Span<bool> usedM = model.Count <= 64 ? stackalloc bool[model.Count] : new bool[model.Count];
        Span<bool> usedH = human.Count <= 64 ? stackalloc bool[human.Count] : new bool[human.Count];
        return MatchInto(model, human, iouThreshold, usedM, usedH);
    }

    /// <summary>
    /// The same matching as <see cref="Match"/>, telling which model box and which human box found a partner
    /// (what per-class and per-confidence precision need).
    /// </summary>
    public static (bool[] Model, bool[] Human) MatchFlags(IReadOnlyList<PixelBox> model, IReadOnlyList<PixelBox> human, double iouThreshold)
    {
        var usedM = new bool[model.Count];
        var usedH = new bool[human.Count];
        MatchInto(model, human, iouThreshold, usedM, usedH);
        return (usedM, usedH);
    }

    /// <summary>
    /// The same matching as <see cref="Match"/> into caller-provided flags (cleared first; at least as long as the
    /// box lists), so a per-line caller can keep them on the stack; returns the number of pairs.
    /// </summary>
    public static int MatchFlags(IReadOnlyList<PixelBox> model, IReadOnlyList<PixelBox> human, double iouThreshold, Span<bool> usedM, Span<bool> usedH)
    {
        usedM = usedM[..model.Count];
        usedH = usedH[..human.Count];
        usedM.Clear();
        usedH.Clear();
        return MatchInto(model, human, iouThreshold, usedM, usedH);
    }

    /// <summary>Marks the matched boxes in <paramref name="usedM"/> and <paramref name="usedH"/>; returns the number of pairs.</summary>
    private static int MatchInto(IReadOnlyList<PixelBox> model, IReadOnlyList<PixelBox> human, double iouThreshold, Span<bool> usedM, Span<bool> usedH)
    {
        var most = (long)model.Count * human.Count;
        Span<(double Iou, int M, int H)> pairs = stackalloc (double Iou, int M, int H)[(int)Math.Min(most, 64)];
        if (most <= 64)
        {
            pairs = pairs[..Candidates(model, human, iouThreshold, pairs, null)];
        }
        else
        {
            var many = new List<(double Iou, int M, int H)>();
            Candidates(model, human, iouThreshold, default, many);
            pairs = many.ToArray();
        }

        pairs.Sort((a, b) => b.Iou.CompareTo(a.Iou));
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

    /// <summary>The same-class pairs overlapping at least <paramref name="iouThreshold"/>, into <paramref name="into"/> or, when given, <paramref name="many"/>.</summary>
    private static int Candidates(IReadOnlyList<PixelBox> model, IReadOnlyList<PixelBox> human, double iouThreshold, Span<(double Iou, int M, int H)> into, List<(double Iou, int M, int H)>? many)
    {
        var found = 0;
        for (var m = 0; m < model.Count; m++)
        {
            for (var h = 0; h < human.Count; h++)
            {
                if (model[m].ClassId == human[h].ClassId)
                {
                    var iou = BoxMath.IoU(model[m], human[h]);
                    if (iou >= iouThreshold)
                    {
                        if (many is null)
                        {
                            into[found] = (iou, m, h);
                        }
                        else
                        {
                            many.Add((iou, m, h));
                        }

                        found++;
                    }
                }
            }
        }

        return found;
    }

    public AgreementSummary ToSummary() => AgreementSummary.From(IouThreshold, Images, ImagesInFullAgreement, ModelBoxes, HumanBoxes, MatchedBoxes);
}

/// <summary>
/// Serializable agreement numbers. <see cref="Precision"/> and <see cref="Recall"/> are null ("n/a") when
/// there is nothing to divide by — over zero images a figure of 100 % would claim an agreement never measured.
/// </summary>
public sealed record AgreementSummary(double IouThreshold, long Images, long ImagesInFullAgreement, long ModelBoxes, long HumanBoxes, long MatchedBoxes, double? Precision, double? Recall)
{
    public static AgreementSummary From(double iouThreshold, long images, long imagesInFullAgreement, long modelBoxes, long humanBoxes, long matchedBoxes) =>
        new(iouThreshold, images, imagesInFullAgreement, modelBoxes, humanBoxes, matchedBoxes,
            images == 0 || modelBoxes == 0 ? null : Math.Round((double)matchedBoxes / modelBoxes, 4),
            images == 0 || humanBoxes == 0 ? null : Math.Round((double)matchedBoxes / humanBoxes, 4));

    /// <summary>The sum of two sets of counts (e.g. two jobs' audits).</summary>
    public AgreementSummary Plus(AgreementSummary other) =>
        From(IouThreshold, Images + other.Images, ImagesInFullAgreement + other.ImagesInFullAgreement, ModelBoxes + other.ModelBoxes, HumanBoxes + other.HumanBoxes, MatchedBoxes + other.MatchedBoxes);

    public static AgreementSummary None(double iouThreshold) => From(iouThreshold, 0, 0, 0, 0, 0);

    /// <summary>"97.5 %", or "n/a" when the figure was not measured.</summary>
    public static string Format(double? value) => value is { } v ? v.ToString("P1", System.Globalization.CultureInfo.InvariantCulture) : "n/a";
}
