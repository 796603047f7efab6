using EdgeLabeling.Simulation;

namespace EdgeLabeling.Labeling.Tests.Simulation;

public sealed class SigV4VerifierTests
{
    // The worked example of the AWS General Reference ("Signature Version 4 signing process"):
    // GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08 on 2015-08-30T12:36:00Z.
    private static readonly SignedRequest DocumentedExample = new(
        "GET",
        "/",
        [new("Action", "ListUsers"), new("Version", "2010-05-08")],
        new Dictionary<string, string>
        {
            ["content-type"] = "application/x-www-form-urlencoded; charset=utf-8",
            ["host"] = "iam.amazonaws.com",
            ["x-amz-date"] = "20150830T123600Z",
        },
        Array.Empty<byte>());

    private const string ExampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    [Fact]
    public void Sign_DocumentedIamExample_GivesTheDocumentedSignature()
    {
        var authorization = SigV4Verifier.Sign(DocumentedExample, ["content-type", "host", "x-amz-date"], "AKIDEXAMPLE", ExampleSecret, "us-east-1", "iam", "20150830T123600Z");

        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            authorization);
    }

    [Fact]
    public void Verify_DocumentedExampleAtItsOwnTime_Accepts()
    {
        var headers = new Dictionary<string, string>(DocumentedExample.Headers)
        {
            ["authorization"] = SigV4Verifier.Sign(DocumentedExample, ["content-type", "host", "x-amz-date"], "AKIDEXAMPLE", ExampleSecret, "us-east-1", "iam", "20150830T123600Z"),
        };
        var clock = new FixedClock(new DateTimeOffset(2015, 8, 30, 12, 38, 0, TimeSpan.Zero));
        var verifier = new SigV4Verifier("AKIDEXAMPLE", ExampleSecret, "us-east-1", "iam", TimeSpan.FromMinutes(5), clock);

        Assert.Null(verifier.Verify(DocumentedExample with { Headers = headers }));
    }

    [Fact]
    public void Verify_SignedHeaderNotSent_NamesIt()
    {
        var headers = new Dictionary<string, string>(DocumentedExample.Headers)
        {
            ["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00",
        };
        var verifier = new SigV4Verifier("AKIDEXAMPLE", ExampleSecret, "us-east-1", "iam", TimeSpan.FromMinutes(5), new FixedClock(new DateTimeOffset(2015, 8, 30, 12, 36, 0, TimeSpan.Zero)));

        var failure = verifier.Verify(DocumentedExample with { Headers = headers });

        Assert.Equal("InvalidSignatureException", failure!.ErrorType);
        Assert.Contains("x-amz-target", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_CredentialScopedToAnotherService_IsRefused()
    {
        var headers = new Dictionary<string, string>(DocumentedExample.Headers)
        {
            ["authorization"] = SigV4Verifier.Sign(DocumentedExample, ["content-type", "host", "x-amz-date"], "AKIDEXAMPLE", ExampleSecret, "us-east-1", "iam", "20150830T123600Z"),
        };
        var verifier = new SigV4Verifier("AKIDEXAMPLE", ExampleSecret, "us-east-1", "sagemaker", TimeSpan.FromMinutes(5), new FixedClock(new DateTimeOffset(2015, 8, 30, 12, 36, 0, TimeSpan.Zero)));

        var failure = verifier.Verify(DocumentedExample with { Headers = headers });

        Assert.Equal("InvalidSignatureException", failure!.ErrorType);
        Assert.Contains("'sagemaker'", failure.Message, StringComparison.Ordinal);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
