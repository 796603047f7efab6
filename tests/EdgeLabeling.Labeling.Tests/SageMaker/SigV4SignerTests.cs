using System.Text;
using Amazon.Runtime;
using Amazon.Runtime.Internal.Auth;
using EdgeLabeling.Labeling.SageMaker;

namespace EdgeLabeling.Labeling.Tests.SageMaker;

public class SigV4SignerTests
{
    // The credentials and time of AWS's published Signature Version 4 examples.
    private static readonly SigningCredentials Example = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    private static readonly DateTime ExampleTime = new(2015, 8, 30, 12, 36, 0, DateTimeKind.Utc);

    [Fact]
    public void Sign_AwsTestSuiteGetVanilla_MatchesPublishedSignature()
    {
        var headers = new Dictionary<string, string> { ["Host"] = "example.amazonaws.com", ["X-Amz-Date"] = "20150830T123600Z" };

        var s = SigV4Signer.Sign("GET", new Uri("https://example.amazonaws.com/"), headers, [], Example, "us-east-1", "service", ExampleTime);

        Assert.Equal("host;x-amz-date", s.SignedHeaders);
        Assert.Equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", s.Signature);
        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", s.Authorization);
    }

    [Fact]
    public void Sign_IamListUsersDocumentationExample_MatchesPublishedSignature()
    {
        var headers = new Dictionary<string, string>
        {
            ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8",
            ["Host"] = "iam.amazonaws.com",
            ["X-Amz-Date"] = "20150830T123600Z",
        };

        var s = SigV4Signer.Sign("GET", new Uri("https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"), headers, [], Example, "us-east-1", "iam", ExampleTime);

        Assert.Equal("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", s.Signature);
    }

    [Fact]
    public void Sign_SageMakerPost_AgreesWithAwsSdkSigner()
    {
        var body = Encoding.UTF8.GetBytes("""{"LabelingJobName":"edgelabel-x"}""");
        var headers = new Dictionary<string, string>
        {
            ["content-type"] = "application/x-amz-json-1.1",
            ["host"] = "api.sagemaker.eu-west-1.amazonaws.com",
            ["x-amz-date"] = "20261126T060000Z",
            ["x-amz-target"] = "SageMaker.DescribeLabelingJob",
        };
        var at = new DateTime(2026, 11, 26, 6, 0, 0, DateTimeKind.Utc);
        var creds = new SigningCredentials("AKIDEXAMPLE", "secret/with+chars");

        var mine = SigV4Signer.Sign("POST", new Uri("https://api.sagemaker.eu-west-1.amazonaws.com/"), headers, body, creds, "eu-west-1", "sagemaker", at);

        // The SDK computes the signature from the same canonical request with its own HMAC chain.
        var sdk = AWS4Signer.ComputeSignature(new ImmutableCredentials(creds.AccessKey, creds.SecretKey, null), "eu-west-1", at, "sagemaker", mine.SignedHeaders, mine.CanonicalRequest);
        Assert.Equal(sdk.Signature, mine.Signature);
        Assert.Equal(
            "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:api.sagemaker.eu-west-1.amazonaws.com\nx-amz-date:20261126T060000Z\nx-amz-target:SageMaker.DescribeLabelingJob\n\ncontent-type;host;x-amz-date;x-amz-target\n"
            + SigV4Signer.HexSha256(body),
            mine.CanonicalRequest);
    }

    [Fact]
    public void SigningKey_MatchesAwsSdk()
    {
        var mine = SigV4Signer.SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam");

        var sdk = AWS4Signer.ComposeSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "20150830", "iam");

        Assert.Equal(Convert.ToHexString(sdk), Convert.ToHexString(mine));
    }
}
