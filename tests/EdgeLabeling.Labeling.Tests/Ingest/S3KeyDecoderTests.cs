using CsCheck;
using EdgeLabeling.Labeling.Events;

namespace EdgeLabeling.Labeling.Tests.Ingest;

public class S3KeyDecoderTests
{
    [Theory]
    [InlineData("red+flower.jpg", "red flower.jpg")]
    [InlineData("a%2Bb.jpg", "a+b.jpg")]
    [InlineData("a+%2B+b", "a + b")]
    [InlineData("incoming%2Fsite%2Fx.jpg", "incoming/site/x.jpg")]
    [InlineData("incoming/site/x.jpg", "incoming/site/x.jpg")]
    [InlineData("%C3%A9t%C3%A9.png", "été.png")]
    [InlineData("%e6%97%a5%e6%9c%ac", "日本")]
    [InlineData("100%25", "100%")]
    [InlineData("tilde~star*", "tilde~star*")]
    public void TryDecode_FormEncodedKey_DecodesLikeUnquotePlus(string encoded, string expected)
    {
        Assert.True(S3KeyDecoder.TryDecode(encoded, out var key, out var reason), reason);
        Assert.Equal(expected, key);
    }

    [Theory]
    [InlineData("abc%", IngestReasons.MalformedKeyEscape)]
    [InlineData("abc%2", IngestReasons.MalformedKeyEscape)]
    [InlineData("abc%G1", IngestReasons.MalformedKeyEscape)]
    [InlineData("abc%FF", IngestReasons.InvalidUtf8Key)]
    [InlineData("%C3", IngestReasons.InvalidUtf8Key)]
    [InlineData("", IngestReasons.MissingKey)]
    [InlineData(null, IngestReasons.MissingKey)]
    public void TryDecode_BadEscapes_ReturnsNamedReason(string? encoded, string expectedReason)
    {
        Assert.False(S3KeyDecoder.TryDecode(encoded, out _, out var reason));
        Assert.Equal(expectedReason, reason);
    }

    [Theory]
    [InlineData("incoming/site-a/2026/11/26/abc.jpg", "incoming/site-a/2026/11/26/abc.jpg")]
    [InlineData("red flower.jpg", "red+flower.jpg")]
    [InlineData("a+b.jpg", "a%2Bb.jpg")]
    [InlineData("größe.jpg", "gr%C3%B6%C3%9Fe.jpg")]
    [InlineData("100%", "100%25")]
    public void Encode_KnownKeys_EncodesAsS3NotificationsDo(string key, string expected)
    {
        Assert.Equal(expected, S3KeyDecoder.Encode(key));
    }

    [Fact]
    public void Encode_ThenDecode_RoundTripsAnyKey()
    {
        Gen.String.Sample(key =>
        {
            // Lone surrogates cannot be UTF-8 encoded; S3 keys are valid UTF-8 by definition.
            if (key.Any(char.IsSurrogate))
            {
                return true;
            }

            return S3KeyDecoder.TryDecode(S3KeyDecoder.Encode(key) is { Length: > 0 } e ? e : "%20", out var back, out _) && (key.Length == 0 ? back == " " : back == key);
        }, iter: 2000);
    }
}
