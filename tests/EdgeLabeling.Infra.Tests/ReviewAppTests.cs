using System.Text.Json.Nodes;
using Amazon.DynamoDBv2.Model;
using EdgeLabeling.Contracts;
using EdgeLabeling.Infra.Configuration;
using EdgeLabeling.Infra.Stacks;
using EdgeLabeling.Review.Tasks;

namespace EdgeLabeling.Infra.Tests;

/// <summary>
/// labeling.backend builtin (dev): the review page behind CloudFront with origin access control and security
/// headers, the HTTP API with the Cognito JWT authorizer on every route, the task table and least-privilege
/// roles. groundtruth (prod) synthesizes none of it.
/// </summary>
[Collection(SynthCollection.Name)]
public sealed class ReviewAppTests(SynthFixture synth)
{
    // CloudFront's managed policies (developer guide: using-managed-cache-policies, using-managed-origin-request-policies).
    private const string CachingDisabledPolicyId = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
    private const string AllViewerExceptHostHeaderPolicyId = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

    private JsonObject Labeling(string env) => synth.Environments[env].RawTemplates[$"EdgeLabeling-{env}-Labeling"];

    private JsonObject Storage(string env) => synth.Environments[env].RawTemplates[$"EdgeLabeling-{env}-Storage"];

    private static JsonObject Props(JsonObject template, string type) =>
        Assert.Single(SecurityRules.Resources(template, type)).Resource["Properties"]!.AsObject();

    private static string F(JsonNode? node) => SecurityRules.Flatten(node);

    private string FunctionId(string env, LambdaFunctionContract contract) =>
        SecurityRules.Resources(Labeling(env), "AWS::Lambda::Function")
            .Single(f => f.Resource["Properties"]!["Handler"]?.GetValue<string>() == contract.Handler).Id;

    /// <summary>Every Allow statement of the identity policies attached to the function's role, as (actions, resources).</summary>
    private List<(string[] Actions, string[] Resources)> Grants(string env, LambdaFunctionContract contract)
    {
        var fn = SecurityRules.Resources(Labeling(env), "AWS::Lambda::Function").Single(f => f.Id == FunctionId(env, contract)).Resource;
        var roleId = fn["Properties"]!["Role"]!["Fn::GetAtt"]![0]!.GetValue<string>();
        return SecurityRules.Resources(Labeling(env), "AWS::IAM::Policy")
            .Where(p => (p.Resource["Properties"]!["Roles"] as JsonArray ?? []).Any(r => F(r) == $"<Ref:{roleId}>"))
            .SelectMany(p => p.Resource["Properties"]!["PolicyDocument"]!["Statement"]!.AsArray().OfType<JsonObject>())
            .Where(s => s["Effect"]!.GetValue<string>() == "Allow")
            .Select(s => (
                Actions: s["Action"] is JsonArray a ? a.Select(x => x!.GetValue<string>()).ToArray() : [s["Action"]!.GetValue<string>()],
                Resources: s["Resource"] is JsonArray r ? r.Select(F).ToArray() : [F(s["Resource"])]))
            .ToList();
    }

    private static IEnumerable<string> ResourcesOf(List<(string[] Actions, string[] Resources)> grants, string actionPrefix) =>
        grants.Where(g => g.Actions.Any(a => a.StartsWith(actionPrefix, StringComparison.Ordinal))).SelectMany(g => g.Resources).Distinct();

    [Fact]
    public void Dev_Page_PrivateBucketReadOnlyByTheDistributionThroughOac()
    {
        var template = Labeling("dev");
        var oac = Assert.Single(SecurityRules.Resources(template, "AWS::CloudFront::OriginAccessControl"));
        var oacConfig = oac.Resource["Properties"]!["OriginAccessControlConfig"]!;
        Assert.Equal("s3", oacConfig["OriginAccessControlOriginType"]!.GetValue<string>());
        Assert.Equal("always", oacConfig["SigningBehavior"]!.GetValue<string>());
        Assert.Equal("sigv4", oacConfig["SigningProtocol"]!.GetValue<string>());

        var distribution = SecurityRules.Resources(template, "AWS::CloudFront::Distribution").Single();
        var config = distribution.Resource["Properties"]!["DistributionConfig"]!;
        Assert.Equal("index.html", config["DefaultRootObject"]!.GetValue<string>());
        var s3Origin = config["Origins"]!.AsArray().Single(o => o!["S3OriginConfig"] is not null)!;
        Assert.Equal($"<GetAtt:{oac.Id}.Id>", F(s3Origin["OriginAccessControlId"]));
        Assert.Equal("", F(s3Origin["S3OriginConfig"]!["OriginAccessIdentity"]));
        Assert.Equal("redirect-to-https", config["DefaultCacheBehavior"]!["ViewerProtocolPolicy"]!.GetValue<string>());

        // The page bucket: its policy lets only this distribution read, and refuses plain HTTP.
        var pageBucket = SecurityRules.Resources(template, "AWS::S3::Bucket").Single(b => b.Id.StartsWith("ReviewPageBucket", StringComparison.Ordinal));
        var policy = SecurityRules.Resources(template, "AWS::S3::BucketPolicy").Single(p => F(p.Resource["Properties"]!["Bucket"]) == $"<Ref:{pageBucket.Id}>");
        var statements = policy.Resource["Properties"]!["PolicyDocument"]!["Statement"]!.AsArray().OfType<JsonObject>().ToList();
        var read = Assert.Single(statements, s => F(s["Principal"]).Contains("cloudfront.amazonaws.com", StringComparison.Ordinal));
        Assert.Equal("s3:GetObject", F(read["Action"]));
        Assert.Contains(distribution.Id, F(read["Condition"]!["StringEquals"]!["AWS:SourceArn"]), StringComparison.Ordinal);
        Assert.Contains(statements, s => s["Effect"]!.GetValue<string>() == "Deny" && F(s["Condition"]!["Bool"]!["aws:SecureTransport"]) == "false");
        Assert.DoesNotContain(statements, s => F(s["Principal"]) == "*" && s["Effect"]!.GetValue<string>() == "Allow");
    }

    [Fact]
    public void Dev_Page_SendsCspHstsNosniffDenyFramesAndNoReferrer()
    {
        var security = Props(Labeling("dev"), "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]!["SecurityHeadersConfig"]!;
        var csp = F(security["ContentSecurityPolicy"]!["ContentSecurityPolicy"]);
        foreach (var directive in new[] { "default-src 'none'", "script-src 'self';", "style-src 'self';", "connect-src 'self' https://", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'" })
        {
            Assert.Contains(directive, csp, StringComparison.Ordinal);
        }

        // Images: the page itself and the incoming bucket's presigned links, nothing else.
        Assert.Contains("img-src 'self' blob: data: https://<Import:", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", csp, StringComparison.Ordinal);
        Assert.Equal(31_536_000, security["StrictTransportSecurity"]!["AccessControlMaxAgeSec"]!.GetValue<int>());
        Assert.True(security["ContentTypeOptions"]!["Override"]!.GetValue<bool>());
        Assert.Equal("DENY", security["FrameOptions"]!["FrameOption"]!.GetValue<string>());
        Assert.Equal("no-referrer", security["ReferrerPolicy"]!["ReferrerPolicy"]!.GetValue<string>());
    }

    [Fact]
    public void Dev_ApiBehavior_HttpsOnlyNeverCachedAndForwardsTheToken()
    {
        var config = SecurityRules.Resources(Labeling("dev"), "AWS::CloudFront::Distribution").Single().Resource["Properties"]!["DistributionConfig"]!;
        var api = config["CacheBehaviors"]!.AsArray().Single(b => b!["PathPattern"]!.GetValue<string>() == "/api/*")!;
        Assert.Equal("https-only", api["ViewerProtocolPolicy"]!.GetValue<string>());
        Assert.Equal(CachingDisabledPolicyId, api["CachePolicyId"]!.GetValue<string>());
        Assert.Equal(AllViewerExceptHostHeaderPolicyId, api["OriginRequestPolicyId"]!.GetValue<string>());
        Assert.Contains("POST", api["AllowedMethods"]!.AsArray().Select(m => m!.GetValue<string>()));
        var origin = config["Origins"]!.AsArray().Single(o => o!["Id"]!.GetValue<string>() == api["TargetOriginId"]!.GetValue<string>())!;
        Assert.Contains(".execute-api.eu-west-1.", F(origin["DomainName"]), StringComparison.Ordinal);
        Assert.Equal("https-only", origin["CustomOriginConfig"]!["OriginProtocolPolicy"]!.GetValue<string>());
    }

    [Fact]
    public void Dev_HttpApi_JwtAuthorizerTrustsTheLabelersPoolAndThePageClient()
    {
        var template = Labeling("dev");
        var authorizer = Props(template, "AWS::ApiGatewayV2::Authorizer");
        Assert.Equal("JWT", authorizer["AuthorizerType"]!.GetValue<string>());
        Assert.Equal("$request.header.Authorization", F(authorizer["IdentitySource"]));

        var pool = SecurityRules.Resources(template, "AWS::Cognito::UserPool").Single().Id;
        Assert.Equal($"https://cognito-idp.eu-west-1.amazonaws.com/<Ref:{pool}>", F(authorizer["JwtConfiguration"]!["Issuer"]));
        var pageClient = SecurityRules.Resources(template, "AWS::Cognito::UserPoolClient").Single(c => c.Id.StartsWith("ReviewPageClient", StringComparison.Ordinal));
        Assert.Equal($"<Ref:{pageClient.Id}>", F(authorizer["JwtConfiguration"]!["Audience"]));

        // The page's client: public (a browser keeps no secret), authorization code flow, back to the page only.
        var client = pageClient.Resource["Properties"]!;
        Assert.False(client["GenerateSecret"]!.GetValue<bool>());
        Assert.Equal("code", F(client["AllowedOAuthFlows"]));
        Assert.Contains("DomainName", F(client["CallbackURLs"]), StringComparison.Ordinal);
        Assert.Equal($"<Ref:{pool}>", F(client["UserPoolId"]));
    }

    [Fact]
    public void Dev_HttpApi_EveryRouteOfTheCoreRequiresTheAuthorizer()
    {
        var template = Labeling("dev");
        var authorizerId = SecurityRules.Resources(template, "AWS::ApiGatewayV2::Authorizer").Single().Id;
        var routes = SecurityRules.Resources(template, "AWS::ApiGatewayV2::Route").Select(r => r.Resource["Properties"]!).ToList();

        Assert.Equal(
            ["GET /api/jobs", "GET /api/jobs/{job}/tasks/{index}", "POST /api/jobs/{job}/lease", "POST /api/jobs/{job}/tasks/{index}/{action}"],
            routes.Select(r => r["RouteKey"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(routes, r =>
        {
            Assert.Equal("JWT", r["AuthorizationType"]!.GetValue<string>());
            Assert.Equal($"<Ref:{authorizerId}>", F(r["AuthorizerId"]));
        });

        var integration = Props(template, "AWS::ApiGatewayV2::Integration");
        Assert.Equal("AWS_PROXY", integration["IntegrationType"]!.GetValue<string>());
        Assert.Equal("2.0", integration["PayloadFormatVersion"]!.GetValue<string>());
        Assert.Equal($"<GetAtt:{FunctionId("dev", LambdaFunctions.ReviewApi)}.Arn>", F(integration["IntegrationUri"]));
        var stage = Props(template, "AWS::ApiGatewayV2::Stage");
        Assert.True(stage["DefaultRouteSettings"]!["ThrottlingRateLimit"]!.GetValue<double>() > 0);
    }

    [Fact]
    public void Dev_ReviewTasksTable_HasTheDynamoDbStoreSchemaEncryptedWithTheDataKey()
    {
        var table = SecurityRules.Resources(Storage("dev"), "AWS::DynamoDB::Table").Single(t => t.Id == StorageStack.LogicalIds.ReviewTasksTable).Resource["Properties"]!;
        var expected = DynamoDbReviewTaskStore.TableDefinition("t");

        Assert.Equal(expected.KeySchema.Select(k => $"{k.AttributeName}:{k.KeyType.Value}"),
            table["KeySchema"]!.AsArray().Select(k => $"{F(k!["AttributeName"])}:{F(k!["KeyType"])}"));
        Assert.Equal(expected.AttributeDefinitions.Select(a => $"{a.AttributeName}:{a.AttributeType.Value}").Order(StringComparer.Ordinal),
            table["AttributeDefinitions"]!.AsArray().Select(a => $"{F(a!["AttributeName"])}:{F(a!["AttributeType"])}").Order(StringComparer.Ordinal));
        var gsi = Assert.Single(table["GlobalSecondaryIndexes"]!.AsArray())!;
        GlobalSecondaryIndex open = Assert.Single(expected.GlobalSecondaryIndexes);
        Assert.Equal(DynamoDbReviewTaskStore.OpenIndex, gsi["IndexName"]!.GetValue<string>());
        Assert.Equal(open.KeySchema.Select(k => $"{k.AttributeName}:{k.KeyType.Value}"), gsi["KeySchema"]!.AsArray().Select(k => $"{F(k!["AttributeName"])}:{F(k!["KeyType"])}"));
        Assert.Equal(open.Projection.ProjectionType.Value, F(gsi["Projection"]!["ProjectionType"]));
        Assert.Equal(open.Projection.NonKeyAttributes, gsi["Projection"]!["NonKeyAttributes"]!.AsArray().Select(F));

        Assert.Equal("PAY_PER_REQUEST", F(table["BillingMode"]));
        Assert.Equal($"<GetAtt:{StorageStack.LogicalIds.DataKey}.Arn>", F(table["SSESpecification"]!["KMSMasterKeyId"]));
        Assert.True(table["PointInTimeRecoverySpecification"]!["PointInTimeRecoveryEnabled"]!.GetValue<bool>());
    }

    [Fact]
    public void Dev_ReviewApiRole_ReadsOnlyIncomingImagesWritesOnlyJobOutputAndSendsOnlyToTheMergeQueue()
    {
        var grants = Grants("dev", LambdaFunctions.ReviewApi);
        Assert.DoesNotContain(grants, g => g.Actions.Any(a => a.StartsWith("sagemaker:", StringComparison.Ordinal) || a.StartsWith("iam:", StringComparison.Ordinal)));
        Assert.All(ResourcesOf(grants, "dynamodb:"), r => Assert.Contains("ReviewTasksTable", r, StringComparison.Ordinal));
        Assert.All(ResourcesOf(grants, "sqs:"), r => Assert.StartsWith("<GetAtt:MergeQueue", r, StringComparison.Ordinal));
        Assert.Contains(grants, g => g.Actions.Contains("sqs:SendMessage"));

        var reads = grants.Where(g => g.Actions.Any(a => a.StartsWith("s3:Get", StringComparison.Ordinal))).SelectMany(g => g.Resources).ToList();
        Assert.Equal(["s3:GetObject"], grants.Where(g => g.Actions.Any(a => a.StartsWith("s3:Get", StringComparison.Ordinal))).SelectMany(g => g.Actions).Where(a => a.StartsWith("s3:", StringComparison.Ordinal)).Distinct());
        Assert.DoesNotContain(grants, g => g.Actions.Any(a => a.StartsWith("s3:List", StringComparison.Ordinal)));
        Assert.NotEmpty(reads);
        Assert.All(reads, r => Assert.EndsWith("/" + ObjectKeyLayout.IncomingPrefix + "*", r, StringComparison.Ordinal));
        var writes = grants.Where(g => g.Actions.Any(a => a.StartsWith("s3:PutObject", StringComparison.Ordinal))).SelectMany(g => g.Resources).ToList();
        Assert.NotEmpty(writes);
        Assert.All(writes, r => Assert.EndsWith("/" + LabelingConventions.JobOutputPrefix + "*", r, StringComparison.Ordinal));
        Assert.DoesNotContain(grants, g => g.Actions.Any(a => a is "s3:DeleteObject*" or "s3:ListBucket*" or "dynamodb:DeleteTable"));
    }

    [Fact]
    public void Dev_BuiltInBackend_BatchWritesTasksMergeOnlyReadsThemSweepReadsNoImages()
    {
        static bool Writes(string[] actions) => actions.Any(a => a is "dynamodb:PutItem" or "dynamodb:UpdateItem" or "dynamodb:BatchWriteItem");
        var batch = Grants("dev", LambdaFunctions.Batch);
        Assert.Contains(batch, g => Writes(g.Actions) && g.Resources.Any(r => r.Contains("ReviewTasksTable", StringComparison.Ordinal)));

        var merge = Grants("dev", LambdaFunctions.Merge);
        Assert.Contains(merge, g => g.Actions.Contains("dynamodb:Query") && g.Resources.Any(r => r.Contains("ReviewTasksTable", StringComparison.Ordinal)));
        Assert.DoesNotContain(merge, g => Writes(g.Actions) && g.Resources.Any(r => r.Contains("ReviewTasksTable", StringComparison.Ordinal)));

        var sweep = Grants("dev", LambdaFunctions.ReviewSweep);
        Assert.DoesNotContain(sweep, g => g.Actions.Any(a => a.StartsWith("s3:GetObject", StringComparison.Ordinal)));
        Assert.Contains(sweep, g => g.Actions.Contains("sqs:SendMessage"));

        // The sweep runs on the batcher's schedule with a dead-letter queue like every EventBridge target.
        var rule = SecurityRules.Resources(Labeling("dev"), "AWS::Events::Rule").Single(r => r.Id.StartsWith("ReviewSweepSchedule", StringComparison.Ordinal)).Resource["Properties"]!;
        Assert.Equal($"rate({synth.Environments["dev"].Config.Batch.ScheduleMinutes} minutes)", F(rule["ScheduleExpression"]));
        Assert.Equal($"<GetAtt:{FunctionId("dev", LambdaFunctions.ReviewSweep)}.Arn>", F(rule["Targets"]![0]!["Arn"]));
    }

    [Fact]
    public void Dev_ReviewApi_PublishesToTheMergeQueueAndTakesTheLabelersGroup()
    {
        var variables = SecurityRules.Resources(Labeling("dev"), "AWS::Lambda::Function").Single(f => f.Id == FunctionId("dev", LambdaFunctions.ReviewApi))
            .Resource["Properties"]!["Environment"]!["Variables"]!;
        var mergeQueue = SecurityRules.Resources(Labeling("dev"), "AWS::SQS::Queue").Single(q => q.Id.StartsWith("MergeQueue", StringComparison.Ordinal)).Id;
        Assert.Equal($"<Ref:{mergeQueue}>", F(variables[LambdaEnvironment.MergeQueueUrl]));
        Assert.Equal(PrivateWorkforce.LabelersGroupName, F(variables[LambdaEnvironment.ReviewLabelersGroup]));
        Assert.Equal(synth.Environments["dev"].Config.Account, F(variables[LambdaEnvironment.AccountId]));
        Assert.Contains("ReviewTasksTable", F(variables[LambdaEnvironment.ReviewTableName]), StringComparison.Ordinal);

        var group = Props(Labeling("dev"), "AWS::Cognito::UserPoolGroup");
        Assert.Equal(PrivateWorkforce.LabelersGroupName, F(group["GroupName"]));
        Assert.Contains("ReviewPageUrl", (Labeling("dev")["Outputs"] as JsonObject ?? []).Select(o => o.Key).Single(k => k.Contains("ReviewPageUrl", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public void Prod_GroundTruth_SynthesizesNoReviewResources()
    {
        var labeling = Labeling("prod");
        foreach (var type in new[]
        {
            "AWS::CloudFront::Distribution", "AWS::CloudFront::OriginAccessControl", "AWS::CloudFront::ResponseHeadersPolicy", "AWS::ApiGatewayV2::Api",
            "AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::Authorizer", "Custom::CDKBucketDeployment",
        })
        {
            Assert.Empty(SecurityRules.Resources(labeling, type));
        }

        Assert.DoesNotContain(SecurityRules.Resources(Storage("prod"), "AWS::DynamoDB::Table"), t => t.Id == StorageStack.LogicalIds.ReviewTasksTable);
        var handlers = SecurityRules.Resources(labeling, "AWS::Lambda::Function").Select(f => f.Resource["Properties"]!["Handler"]?.GetValue<string>()).ToList();
        Assert.All(LambdaFunctions.Review, f => Assert.DoesNotContain(f.Handler, handlers));
        var batchVariables = SecurityRules.Resources(labeling, "AWS::Lambda::Function").Single(f => f.Id == FunctionId("prod", LambdaFunctions.Batch)).Resource["Properties"]!["Environment"]!["Variables"]!.AsObject();
        Assert.False(batchVariables.ContainsKey(LambdaEnvironment.ReviewTableName));
        Assert.Equal("groundtruth", F(batchVariables[LambdaEnvironment.LabelingBackend]));
    }

    [Fact]
    public void Synth_BuiltInWithAnImportedWorkteam_FailsNamingTheUserPool()
    {
        var ex = Assert.Throws<ConfigurationException>(() => SynthesizedEnvironment.Create("dev", synth.Assets, context =>
            context["environments"]!["dev"]!["workteam"] = "arn:aws:sagemaker:eu-west-1:111111111111:workteam/private-crowd/other"));

        Assert.Contains("workteam \"create\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("user pool", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Synth_BuiltInWithoutTheBuiltPage_FailsNamingTheBuildCommand()
    {
        var ex = Assert.Throws<ConfigurationException>(() => SynthesizedEnvironment.Create("dev", synth.Assets, context =>
            context[AssetPaths.ReviewPageKey] = Path.Combine(synth.Assets.Root, "no-such-page")));

        Assert.Contains("npm run build:review", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no-such-page", ex.Message, StringComparison.Ordinal);
    }
}
