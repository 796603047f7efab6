using System.Text.Json.Nodes;

namespace EdgeLabeling.Infra.Tests;

/// <summary>The security rule suite over every synthesized template of every environment.</summary>
[Collection(SynthCollection.Name)]
public sealed class SecurityRuleTests(SynthFixture synth)
{
    public static TheoryData<string> Rules => new(SecurityRules.All.Select(r => r.Method.Name));

    [Theory]
    [MemberData(nameof(Rules))]
    public void AllTemplates_SatisfyRule(string rule)
    {
        var check = SecurityRules.All.Single(r => r.Method.Name == rule);
        var templates = synth.AllTemplates.ToList();
        Assert.Equal(6, templates.Count);

        var offenders = templates.SelectMany(t => check(t.Stack, t.Template)).ToList();

        Assert.True(offenders.Count == 0, $"{rule} violated:{Environment.NewLine}{string.Join(Environment.NewLine, offenders)}");
    }

    [Fact]
    public void AllTemplates_HaveBucketsQueuesAndPoliciesToCheck()
    {
        // Guards against the rules passing vacuously because nothing was synthesized.
        var all = synth.AllTemplates.Select(t => t.Template).ToList();

        // Four per environment, plus the review page bucket of the built-in (dev) environment.
        Assert.Equal(9, all.Sum(t => SecurityRules.Resources(t, "AWS::S3::Bucket").Count()));
        // Per environment: batch schedule, job state, fleet check; plus dev's review sweep schedule.
        Assert.Equal(7, all.Sum(t => SecurityRules.Resources(t, "AWS::Events::Rule").Count()));
        // The new rules have something to check: dev's tables (pending, fleet, review tasks), distribution and routes.
        Assert.Equal(1, all.Sum(t => SecurityRules.Resources(t, "AWS::CloudFront::Distribution").Count()));
        Assert.Equal(4, all.Sum(t => SecurityRules.Resources(t, "AWS::ApiGatewayV2::Route").Count()));
        Assert.Equal(5, all.Sum(t => SecurityRules.Resources(t, "AWS::DynamoDB::Table").Count()));
        Assert.True(all.Sum(t => SecurityRules.Resources(t, "AWS::IAM::Policy").Count()) >= 10);
    }

    [Fact]
    public void WildcardResourceAllowList_EveryEntryHasAReason()
    {
        Assert.All(SecurityRules.WildcardResourceAllowList, e =>
        {
            Assert.NotEmpty(e.Actions);
            Assert.DoesNotContain(e.Actions, a => a.Contains('*', StringComparison.Ordinal));
            Assert.True(e.Reason.Length > 20, $"allow-list entry {string.Join(",", e.Actions)} needs a reason");
        });
    }

    // --- The rules catch what they are meant to catch ------------------------------------------

    [Fact]
    public void TablesEncryptedWithCustomerKey_DefaultEncryption_IsNamed()
    {
        var t = Template("""
            "Plain": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "AwsManaged": {"Type": "AWS::DynamoDB::Table", "Properties": {"SSESpecification": {"SSEEnabled": true}}},
            "Cmk": {"Type": "AWS::DynamoDB::Table", "Properties": {"SSESpecification": {"SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": "Key"}}}}
            """);

        Assert.Equal(
            ["s/Plain: table is not encrypted with a customer-managed KMS key", "s/AwsManaged: table is not encrypted with a customer-managed KMS key"],
            SecurityRules.TablesEncryptedWithCustomerKey("s", t));
    }

    [Fact]
    public void DistributionRules_PlainHttpNoHeadersAndIdentityOrigin_NamesEachProblem()
    {
        var t = Template("""
            "Headers": {"Type": "AWS::CloudFront::ResponseHeadersPolicy", "Properties": {"ResponseHeadersPolicyConfig": {"SecurityHeadersConfig": {
              "ContentSecurityPolicy": {}, "StrictTransportSecurity": {}, "ContentTypeOptions": {}, "FrameOptions": {}}}}},
            "Dist": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {
              "DefaultCacheBehavior": {"ViewerProtocolPolicy": "allow-all", "ResponseHeadersPolicyId": {"Ref": "Headers"}},
              "CacheBehaviors": [{"PathPattern": "/api/*", "ViewerProtocolPolicy": "https-only"}],
              "Origins": [
                {"Id": "page", "DomainName": {"Fn::GetAtt": ["Bucket", "RegionalDomainName"]}, "S3OriginConfig": {"OriginAccessIdentity": "origin-access-identity/cloudfront/E1"}},
                {"Id": "api", "DomainName": "x.execute-api.eu-west-1.amazonaws.com", "CustomOriginConfig": {"OriginProtocolPolicy": "http-only"}}]}}}
            """);

        Assert.Equal(
        [
            "s/Dist: behavior default allows plain HTTP",
            "s/Dist: behavior default does not send ReferrerPolicy",
            "s/Dist: behavior /api/* does not send ContentSecurityPolicy",
            "s/Dist: behavior /api/* does not send StrictTransportSecurity",
            "s/Dist: behavior /api/* does not send ContentTypeOptions",
            "s/Dist: behavior /api/* does not send FrameOptions",
            "s/Dist: behavior /api/* does not send ReferrerPolicy",
            "s/Dist: S3 origin page is not behind origin access control",
            "s/Dist: origin api is reached with http-only",
        ], SecurityRules.DistributionsTlsOnlyWithHeadersAndOac("s", t));
    }

    [Fact]
    public void ApiRoutesAuthorized_OpenRoute_IsNamed()
    {
        var t = Template("""
            "Open": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"RouteKey": "GET /api/jobs", "AuthorizationType": "NONE"}},
            "Closed": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"RouteKey": "POST /api/jobs/{job}/lease", "AuthorizationType": "JWT", "AuthorizerId": {"Ref": "Auth"}}}
            """);

        Assert.Equal(["s/Open: route GET /api/jobs has no JWT authorizer"], SecurityRules.ApiRoutesAuthorized("s", t));
    }

    private static JsonObject Template(string resources) => JsonNode.Parse("{\"Resources\":{" + resources + "}}")!.AsObject();

    [Fact]
    public void BucketRules_UnprotectedBucket_NamesAllThreeProblems()
    {
        var t = Template("""
            "Open": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "OpenPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "Open"},
              "PolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}}}
            """);

        Assert.Equal(["s/Open: bucket has no default encryption"], SecurityRules.BucketsEncrypted("s", t));
        Assert.Equal(["s/Open: public access is not fully blocked"], SecurityRules.BucketsBlockPublicAccess("s", t));
        Assert.Equal(["s/Open: no bucket policy denies aws:SecureTransport=false"], SecurityRules.BucketsEnforceSsl("s", t));
    }

    [Fact]
    public void NoWildcardActions_StarAndServiceStar_AreNamed()
    {
        var t = Template("""
            "P": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {"Statement": [
              {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"},
              {"Effect": "Allow", "Action": ["s3:*"], "Resource": "arn:aws:s3:::b"},
              {"Effect": "Deny", "Action": "sqs:*", "Resource": "*"}]}}}
            """);

        Assert.Equal(["s/P: Allow statement with Action \"*\"", "s/P: Allow statement with Action \"s3:*\""], SecurityRules.NoWildcardActions("s", t));
    }

    [Fact]
    public void NoWildcardResources_ActionNotOnAllowList_IsNamed()
    {
        var t = Template("""
            "P": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {"Statement": [
              {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"},
              {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "s3:GetObject"], "Resource": "*"}]}}}
            """);

        var offender = Assert.Single(SecurityRules.NoWildcardResources("s", t));
        Assert.Contains("xray:PutTraceSegments, s3:GetObject", offender);
    }

    [Fact]
    public void DevicePolicies_UnscopedWriteListAndDelete_AreNamed()
    {
        var t = Template("""
            "DeviceRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [
              {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "credentials.iot.amazonaws.com"}}]}}},
            "DevicePolicy": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "DeviceRole"}], "PolicyDocument": {"Statement": [
              {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/incoming/*"},
              {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"},
              {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/incoming/${credentials-iot:ThingName}/*"}]}}}
            """);

        var offenders = SecurityRules.DevicePoliciesScopedByThingName("s", t);

        Assert.Equal(3, offenders.Count);
        Assert.Contains(offenders, o => o.Contains("outside its thing-name prefix", StringComparison.Ordinal));
        Assert.Contains(offenders, o => o.Contains("without a thing-name prefix condition", StringComparison.Ordinal));
        Assert.Contains(offenders, o => o.Contains("s3:DeleteObject", StringComparison.Ordinal));
    }

    [Fact]
    public void AsyncLambdas_TargetWithoutDeadLetters_IsNamed()
    {
        var t = Template("""
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"Id": "t", "Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}]}}
            """);

        Assert.Equal(["s/Rule: target Fn has no dead-letter queue", "s/Fn: invoked asynchronously by Rule but has no DLQ or on-failure destination"],
            SecurityRules.AsyncLambdasHaveDeadLetters("s", t));
    }

    [Fact]
    public void LogGroups_WithoutRetentionOrImplicit_AreNamed()
    {
        var t = Template("""
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}}
            """);

        Assert.Equal(["s/Logs: log group without retention", "s/Fn: function logs to an implicit log group that never expires"], SecurityRules.LogGroupsHaveRetention("s", t));
    }

    [Fact]
    public void NoSecretsInEnvironment_LiteralSecretsAreNamed_ReferencesAreNot()
    {
        var t = Template("""
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {
              "DB_PASSWORD": "hunter2", "API_TOKEN": {"Ref": "Param"}, "KMS_KEY_ID": "alias/x", "UPSTREAM": "AKIAABCDEFGHIJKLMNOP"}}}}
            """);

        Assert.Equal(["s/Fn: environment variable DB_PASSWORD has a literal value", "s/Fn: environment variable UPSTREAM looks like a credential"],
            SecurityRules.NoSecretsInEnvironment("s", t));
    }
}
