using CsCheck;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Routing.Tests;

public class RoutingPolicyPropertyTests
{
    private static readonly string[] Classes = ["bolt", "nut", "washer"];

    private static readonly Gen<PixelBox> GenBox =
        Gen.Select(Gen.Int[0, 2], Gen.Double[0, 1], (c, s) => new PixelBox(c, 1, 1, 5, 5, s));

    private static readonly Gen<PixelBox[]> GenBoxes = GenBox.Array[0, 12];

    private static readonly Gen<string> GenSha = Gen.Int.Select(RoutingPolicyTests.FakeSha);

    [Fact]
    public void Route_RaisingAutoAcceptThreshold_NeverTurnsReviewIntoAutoLabel()
    {
        // Thresholds stay above the default uncertainLow (0.25): one equal to it is refused (RoutingThresholds).
        Gen.Select(GenBoxes, Gen.Double[0.2501, 1], Gen.Double[0, 0.75], GenSha)
            .Sample((boxes, threshold, raise, sha) =>
            {
                var higher = Math.Min(1, threshold + raise);
                var lowPolicy = new RoutingPolicy(new RoutingOptions { AutoAcceptThreshold = threshold }, Classes);
                var highPolicy = new RoutingPolicy(new RoutingOptions { AutoAcceptThreshold = higher }, Classes);
                var before = lowPolicy.Route(sha, boxes).Outcome;
                var after = highPolicy.Route(sha, boxes).Outcome;
                return before != RoutingOutcome.HumanReview || after == RoutingOutcome.HumanReview;
            }, iter: 2_000);
    }

    [Fact]
    public void Route_RaisingOneClassThreshold_NeverTurnsReviewIntoAutoLabel()
    {
        Gen.Select(GenBoxes, Gen.Int[0, 2], Gen.Double[0.2501, 1], Gen.Double[0, 0.75])
            .Sample((boxes, classId, threshold, raise) =>
            {
                var name = Classes[classId];
                var a = new RoutingPolicy(new RoutingOptions { AuditRate = 0, ClassThresholds = new Dictionary<string, double> { [name] = threshold } }, Classes);
                var b = new RoutingPolicy(new RoutingOptions { AuditRate = 0, ClassThresholds = new Dictionary<string, double> { [name] = Math.Min(1, threshold + raise) } }, Classes);
                var sha = new string('0', 64);
                return a.Route(sha, boxes).Outcome != RoutingOutcome.HumanReview || b.Route(sha, boxes).Outcome == RoutingOutcome.HumanReview;
            }, iter: 2_000);
    }

    [Fact]
    public void Route_AnyInput_KeepsOnlyBoxesAtOrAboveLowAndAtMostTheCap()
    {
        // uncertainLow stays below the default threshold (0.5), as the one threshold rule requires.
        Gen.Select(GenBox.Array[0, 30], Gen.Double[0, 0.4999], Gen.Int[1, 10])
            .Sample((boxes, low, cap) =>
            {
                var policy = new RoutingPolicy(new RoutingOptions { UncertainLow = low, MaxDetections = cap }, Classes);
                var result = policy.Route(new string('1', 64), boxes);
                return result.Boxes.All(b => b.Confidence >= low)
                    && result.Boxes.Count <= cap
                    && result.Boxes.Count == Math.Min(cap, boxes.Count(b => b.Confidence >= low));
            }, iter: 2_000);
    }

    [Fact]
    public void Route_AnyInput_AutoLabelOrAuditOnlyWhenEveryKeptBoxIsConfident()
    {
        Gen.Select(GenBoxes, GenSha)
            .Sample((boxes, sha) =>
            {
                var policy = new RoutingPolicy(new RoutingOptions { NoDetections = NoDetectionsRule.AutoLabel, AuditRate = 0.3 }, Classes);
                var result = policy.Route(sha, boxes);
                return result.Outcome is RoutingOutcome.HumanReview
                    || result.Boxes.All(b => b.Confidence >= policy.ThresholdFor(b.ClassId));
            }, iter: 2_000);
    }

    [Fact]
    public void Route_SameInputTwice_GivesTheSameDecision()
    {
        Gen.Select(GenBoxes, GenSha)
            .Sample((boxes, sha) =>
            {
                var policy = new RoutingPolicy(new RoutingOptions(), Classes);
                var a = policy.Route(sha, boxes);
                var b = policy.Route(sha, boxes.Reverse().ToArray());
                return a.Outcome == b.Outcome && a.Boxes.Count == b.Boxes.Count;
            }, iter: 1_000);
    }
}
