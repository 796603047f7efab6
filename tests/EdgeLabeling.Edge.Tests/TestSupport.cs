using System.Security.Cryptography;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Inference;
using EdgeLabeling.Routing;

namespace EdgeLabeling.Edge.Tests;

/// <summary>
/// Decides by file name prefix so tests control routing without a model: "review-" → human review,
/// "audit-" → audit, "auto-" → auto-label, "dup-" → duplicate, "bad-" → quarantine.
/// </summary>
public sealed class NameRoutedLabeler : IImageLabeler
{
    public DetectorInfo Detector { get; } = new("/models/fake.onnx", new string('a', 64), 320, 320, ["bolt", "nut", "washer"], "fake");

    public int Calls { get; private set; }

    public ImageDecision Process(ImageInput input)
    {
        Calls++;
        var name = Path.GetFileName(input.SourcePath);
        var sha = Convert.ToHexStringLower(SHA256.HashData(input.Bytes.Span));
        var ext = name.EndsWith(".png", StringComparison.OrdinalIgnoreCase) ? "png" : "jpg";
        var outcome = name.Split('-')[0] switch
        {
            "review" => RoutingOutcome.HumanReview,
            "audit" => RoutingOutcome.Audit,
            "auto" => RoutingOutcome.AutoLabel,
            "dup" => RoutingOutcome.Duplicate,
            _ => RoutingOutcome.Quarantine,
        };
        IReadOnlyList<PixelBox> boxes = outcome == RoutingOutcome.Quarantine ? [] : [new PixelBox(1, 10, 20, 30, 40, 0.9)];
        return new ImageDecision(input, sha, ext, outcome == RoutingOutcome.Quarantine ? null : new ImageSize(640, 480), outcome, outcome == RoutingOutcome.Quarantine ? "truncated-image" : "test", boxes);
    }
}

public static class Bytes
{
    public static byte[] Random(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    public static OutboxEntry Review(int seed, int size = 1000) => Entry(QueuePriority.Review, seed, size, "{\"sidecar\":" + seed + "}");

    public static OutboxEntry AutoImage(int seed, int size = 1000) => Entry(QueuePriority.AutoLabeledImage, seed, size, "");

    public static OutboxEntry Record(int seed, int payloadSize = 100)
    {
        var key = $"incoming/dev1/2026/11/26/{Sha(Random(8, seed))}.jpg";
        return new OutboxEntry(QueuePriority.AutoLabelRecord, key, Sha(Random(8, seed)), "application/json", ReadOnlyMemory<byte>.Empty, System.Text.Encoding.UTF8.GetBytes("{\"line\":" + seed + ",\"pad\":\"" + new string('x', Math.Max(0, payloadSize - 20)) + "\"}"));
    }

    private static OutboxEntry Entry(QueuePriority p, int seed, int size, string payload)
    {
        var bytes = Random(size, seed);
        var sha = Sha(bytes);
        return new OutboxEntry(p, $"incoming/dev1/2026/11/26/{sha}.jpg", sha, "image/jpeg", bytes, System.Text.Encoding.UTF8.GetBytes(payload));
    }
}
