using System.Globalization;

namespace EdgeLabeling.Cli.Console;

/// <summary>Number formats the commands print the same way.</summary>
internal static class CliFormat
{
    /// <summary>A share as a percentage with one decimal ("95.0%"), culture-independent.</summary>
    public static string Percent(double share) => (share * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
