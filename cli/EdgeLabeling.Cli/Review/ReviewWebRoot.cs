namespace EdgeLabeling.Cli.Review;

/// <summary>Finds the built review page (review-app/dist, made by <c>npm run build:review</c>) like the samples are found.</summary>
internal static class ReviewWebRoot
{
    public const string Relative = "review-app/dist";

    public static string? Find(string? given = null)
    {
        if (!string.IsNullOrWhiteSpace(given))
        {
            return Path.GetFullPath(given);
        }

        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, Relative);
                if (File.Exists(Path.Combine(candidate, "index.html")))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
