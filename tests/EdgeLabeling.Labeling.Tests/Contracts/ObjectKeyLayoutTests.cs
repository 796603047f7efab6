using System.Globalization;
using System.Text.RegularExpressions;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Labeling.Tests.Contracts;

/// <summary>
/// The incoming key layout is checked by hand (the merge reads every reviewed line's key); these tests hold it to
/// the regular expression it replaced, used here as the oracle, over valid keys and thousands of mutations of them.
/// </summary>
public sealed partial class ObjectKeyLayoutTests
{
    // The layout as it was written before: the oracle. '\z' instead of '$' because '$' also matched before a final
    // newline, which the hand-written check rightly refuses (a key with a newline in it is not an image key).
    [GeneratedRegex("^incoming/(?<thing>[a-zA-Z0-9:_-]{1,128})/(?<y>[0-9]{4})/(?<m>[0-9]{2})/(?<d>[0-9]{2})/(?<sha>[0-9a-f]{64})\\.(?<ext>jpg|jpeg|png)(?<sidecar>\\.json)?\\z")]
    private static partial Regex Oracle();

    private static readonly string Sha = "0123456789abcdef" + new string('a', 48);

    [Theory]
    [InlineData("incoming/site-7/2026/11/26/{sha}.jpg", "site-7", false, "jpg")]
    [InlineData("incoming/a:b_c-D9/2024/02/29/{sha}.jpeg.json", "a:b_c-D9", true, "jpeg")]
    [InlineData("incoming/x/0001/01/01/{sha}.png", "x", false, "png")]
    public void TryParse_KeysInTheLayout_GiveTheirParts(string template, string thing, bool sidecar, string ext)
    {
        var key = template.Replace("{sha}", Sha, StringComparison.Ordinal);

        Assert.True(ObjectKeyLayout.TryParse(key, out var parsed, out var reason), reason);

        Assert.Equal(thing, parsed.ThingName);
        Assert.Equal(Sha, parsed.Sha256);
        Assert.Equal(ext, parsed.Extension);
        Assert.Equal(sidecar, parsed.IsSidecar);
        Assert.Equal(sidecar ? key[..^5] : key, parsed.ImageKey);
        var m = Oracle().Match(key);
        Assert.Equal(new DateOnly(int.Parse(m.Groups["y"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["m"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["d"].Value, CultureInfo.InvariantCulture)), parsed.Date);
    }

    [Theory]
    [InlineData("", "empty-key")]
    [InlineData("/incoming/site/2026/11/26/{sha}.jpg", "unsafe-key")]
    [InlineData("incoming/site/../2026/11/26/{sha}.jpg", "unsafe-key")]
    [InlineData("incoming//2026/11/26/{sha}.jpg", "unsafe-key")]
    [InlineData("incoming\\site/2026/11/26/{sha}.jpg", "unsafe-key")]
    [InlineData("auto-labels/site/2026/11/26/{sha}.jpg", "outside-incoming-prefix")]
    [InlineData("incoming/site/2026/11/26/{sha}.gif", "not-in-key-layout")]
    [InlineData("incoming/site/2026/11/26/{sha}.JPG", "not-in-key-layout")]
    [InlineData("incoming/si te/2026/11/26/{sha}.jpg", "not-in-key-layout")]
    [InlineData("incoming/site/2026/1/26/{sha}.jpg", "not-in-key-layout")]
    [InlineData("incoming/site/2026/11/26/{sha}.jpg\n", "not-in-key-layout")]
    [InlineData("incoming/site/2026/11/26/{sha}.json", "not-in-key-layout")]
    [InlineData("incoming/site/2026/13/26/{sha}.jpg", "invalid-date-in-key")]
    [InlineData("incoming/site/2026/02/29/{sha}.jpg", "invalid-date-in-key")]
    [InlineData("incoming/site/0000/01/01/{sha}.jpg", "invalid-date-in-key")]
    public void TryParse_KeysOutsideTheLayout_NameTheReason(string template, string expected)
    {
        var key = template.Replace("{sha}", Sha, StringComparison.Ordinal);

        Assert.False(ObjectKeyLayout.TryParse(key, out _, out var reason));

        Assert.Equal(expected, reason);
    }

    [Fact]
    public void TryParseLayout_RandomMutationsOfValidKeys_AgreeWithTheRegularExpression()
    {
        var rng = new Random(20261203);
        const string alphabet = "abcdef0123456789ghijkzAZ:_-./\\ \n.json";
        var things = new[] { "site-7", "a", new string('t', 128), new string('t', 129), "cam:1_b-2" };
        var agreed = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var chars = $"incoming/{things[rng.Next(things.Length)]}/2026/{rng.Next(0, 14):D2}/{rng.Next(0, 33):D2}/{Sha}.{(new[] { "jpg", "jpeg", "png", "gif" })[rng.Next(4)]}{(rng.Next(3) == 0 ? ".json" : "")}".ToCharArray().ToList();
            for (var edits = rng.Next(0, 3); edits > 0; edits--)
            {
                var at = rng.Next(chars.Count);
                switch (rng.Next(3))
                {
                    case 0: chars[at] = alphabet[rng.Next(alphabet.Length)]; break;
                    case 1: chars.RemoveAt(at); break;
                    default: chars.Insert(at, alphabet[rng.Next(alphabet.Length)]); break;
                }
            }

            var key = new string([.. chars]);
            var oracle = Oracle().Match(key);
            var parsed = ObjectKeyLayout.TryParse(key, out var p, out var reason);
            var oracleValid = oracle.Success && !key.StartsWith('/') && !key.Contains("..", StringComparison.Ordinal) && !key.Contains("//", StringComparison.Ordinal) && ValidDate(oracle);
            Assert.True(oracleValid == parsed, $"'{key.Replace("\n", "\\n", StringComparison.Ordinal)}': oracle {oracleValid}, parsed {parsed} ({reason})");
            if (parsed)
            {
                Assert.Equal(oracle.Groups["thing"].Value, p.ThingName);
                Assert.Equal(oracle.Groups["sha"].Value, p.Sha256);
                Assert.Equal(oracle.Groups["ext"].Value, p.Extension);
                Assert.Equal(oracle.Groups["sidecar"].Success, p.IsSidecar);
                agreed++;
            }
        }

        // The mutations must leave a fair share of keys valid, or the comparison proves little.
        Assert.True(agreed > 2_000, $"only {agreed} valid keys among the mutations");
    }

    private static bool ValidDate(Match m)
    {
        var y = int.Parse(m.Groups["y"].Value, CultureInfo.InvariantCulture);
        var mo = int.Parse(m.Groups["m"].Value, CultureInfo.InvariantCulture);
        var d = int.Parse(m.Groups["d"].Value, CultureInfo.InvariantCulture);
        return y >= 1 && mo is >= 1 and <= 12 && d >= 1 && d <= DateTime.DaysInMonth(y, mo);
    }

    [Fact]
    public void IsValidThingName_LengthAndCharacters_AreTheIotRule()
    {
        Assert.True(ObjectKeyLayout.IsValidThingName("gg-core_1:a"));
        Assert.True(ObjectKeyLayout.IsValidThingName(new string('a', 128)));
        Assert.False(ObjectKeyLayout.IsValidThingName(new string('a', 129)));
        Assert.False(ObjectKeyLayout.IsValidThingName(""));
        Assert.False(ObjectKeyLayout.IsValidThingName("a/b"));
        Assert.False(ObjectKeyLayout.IsValidThingName("é"));
        Assert.False(ObjectKeyLayout.IsValidThingName((string)null!));
    }
}
