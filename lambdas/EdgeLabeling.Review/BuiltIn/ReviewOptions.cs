using System.Globalization;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Review.BuiltIn;

/// <summary>Settings of the built-in backend (environment variables REVIEW_*, see lambdas/README.md).</summary>
public sealed record ReviewOptions
{
    public string Region { get; init; } = "us-east-1";

    /// <summary>The account id written into job ARNs (Lambda: the function's account).</summary>
    public string AccountId { get; init; } = "000000000000";

    /// <summary>DynamoDB table of the tasks; null uses the SQLite store at <see cref="DbPath"/>.</summary>
    public string? TableName { get; init; }

    public string DbPath { get; init; } = Path.Combine(Path.GetTempPath(), "edgelabel-review.db");

    /// <summary>How long a lease lasts without a heartbeat; never beyond the job's TaskTimeLimitInSeconds from acceptance.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an image link handed to the page stays valid.</summary>
    public TimeSpan ImageUrlLifetime { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>The Cognito (or local) group whose members may label.</summary>
    public string LabelersGroup { get; init; } = "labelers";

    public static ReviewOptions FromEnvironment(Func<string, string?>? get = null)
    {
        get ??= Environment.GetEnvironmentVariable;
        string? Str(string n) => get(n) is { Length: > 0 } v ? v.Trim() : null;
        double Seconds(string n, double fallback)
        {
            if (Str(n) is not { } raw)
            {
                return fallback;
            }

            return double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 10 && v <= 28_800
                ? v
                : throw new ArgumentException($"environment variable {n}='{raw}' must be a number of seconds between 10 and 28800", n);
        }

        var d = new ReviewOptions();
        return new ReviewOptions
        {
            Region = Str(LambdaEnvironment.Region) ?? Str(LambdaEnvironment.DefaultRegion) ?? d.Region,
            AccountId = Str(LambdaEnvironment.AccountId) ?? d.AccountId,
            TableName = Str(LambdaEnvironment.ReviewTableName),
            DbPath = Str(LambdaEnvironment.ReviewDbPath) ?? d.DbPath,
            LeaseDuration = TimeSpan.FromSeconds(Seconds(LambdaEnvironment.ReviewLeaseSeconds, d.LeaseDuration.TotalSeconds)),
            ImageUrlLifetime = TimeSpan.FromSeconds(Seconds(LambdaEnvironment.ReviewImageUrlSeconds, d.ImageUrlLifetime.TotalSeconds)),
            LabelersGroup = Str(LambdaEnvironment.ReviewLabelersGroup) ?? d.LabelersGroup,
        };
    }
}
