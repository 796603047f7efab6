using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EdgeLabeling.Infra.Tests;

/// <summary>
/// cdk-nag-style rules over synthesized CloudFormation templates (cdk-nag's C# package is not served
/// here). Each rule returns the offenders as "stack/logicalId: problem" so a failing test names them.
/// </summary>
public static partial class SecurityRules
{
    /// <summary>
    /// The only places an identity policy may use Resource "*": actions AWS offers no resource-level
    /// permissions for, or CDK-internal handlers. Every action of such a statement must be listed.
    /// </summary>
    public static readonly IReadOnlyList<(string[] Actions, string Reason)> WildcardResourceAllowList =
    [
        (["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "X-Ray has no resource-level permissions; Lambda active tracing needs these two actions on *"),
        (["cloudwatch:PutMetricData"],
            "CloudWatch PutMetricData has no resource-level permissions; the Ground Truth execution-role policy in the developer guide (sms-security-permission-execution-role) grants it for the job's worker metrics"),
        (["s3:GetBucketNotification", "s3:PutBucketNotification"],
            "CDK's BucketNotificationsHandler (S3 → SQS notification on the imported incoming bucket) is emitted unscoped by CDK; it only reads/writes notification configuration"),
    ];

    /// <summary>Lambda functions CDK creates for its own custom resources; they log to the default log group.</summary>
    public static readonly IReadOnlyList<(string LogicalIdPrefix, string Reason)> CdkInternalFunctions =
    [
        ("BucketNotificationsHandler", "CDK singleton that applies S3 notification configuration"),
        ("CustomS3AutoDeleteObjectsCustomResourceProviderHandler", "CDK provider that empties dev buckets on stack deletion"),
    ];

    [GeneratedRegex("(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretNameRegex();

    [GeneratedRegex("(AKIA|ASIA)[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|^[A-Za-z0-9/+]{40}$")]
    private static partial Regex SecretValueRegex();

    public static IEnumerable<(string Id, JsonObject Resource)> Resources(JsonObject template, string type) =>
        (template["Resources"] as JsonObject ?? [])
            .Where(p => p.Value?["Type"]?.GetValue<string>() == type)
            .Select(p => (p.Key, (JsonObject)p.Value!));

    /// <summary>Every bucket has default encryption.</summary>
    public static IReadOnlyList<string> BucketsEncrypted(string stack, JsonObject template) =>
        Resources(template, "AWS::S3::Bucket")
            .Where(b => b.Resource["Properties"]?["BucketEncryption"]?["ServerSideEncryptionConfiguration"] is not JsonArray { Count: > 0 })
            .Select(b => $"{stack}/{b.Id}: bucket has no default encryption")
            .ToList();

    /// <summary>Every bucket blocks all four kinds of public access.</summary>
    public static IReadOnlyList<string> BucketsBlockPublicAccess(string stack, JsonObject template)
    {
        string[] flags = ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"];
        return Resources(template, "AWS::S3::Bucket")
            .Where(b => flags.Any(f => b.Resource["Properties"]?["PublicAccessBlockConfiguration"]?[f]?.GetValue<bool>() != true))
            .Select(b => $"{stack}/{b.Id}: public access is not fully blocked")
            .ToList();
    }

    /// <summary>Every bucket has a policy denying requests without TLS.</summary>
    public static IReadOnlyList<string> BucketsEnforceSsl(string stack, JsonObject template)
    {
        var enforced = Resources(template, "AWS::S3::BucketPolicy")
            .Where(p => Statements(p.Resource["Properties"]?["PolicyDocument"]).Any(DeniesInsecureTransport))
            .Select(p => Flatten(p.Resource["Properties"]?["Bucket"]))
            .ToHashSet(StringComparer.Ordinal);
        return Resources(template, "AWS::S3::Bucket")
            .Where(b => !enforced.Contains($"<Ref:{b.Id}>"))
            .Select(b => $"{stack}/{b.Id}: no bucket policy denies aws:SecureTransport=false")
            .ToList();
    }

    /// <summary>No Allow statement of any policy uses Action "*" or "service:*".</summary>
    public static IReadOnlyList<string> NoWildcardActions(string stack, JsonObject template)
    {
        var offenders = new List<string>();
        foreach (var (id, document, kind) in PolicyDocuments(template))
        {
            foreach (var statement in Statements(document).Where(IsAllow))
            {
                foreach (var action in Strings(statement["Action"]).Where(a => a == "*" || a.EndsWith(":*", StringComparison.Ordinal)))
                {
                    // The default key policy lets the account administer its own key; IAM policies then grant use.
                    if (kind == "AWS::KMS::Key" && action == "kms:*" && IsAccountRoot(statement["Principal"]))
                    {
                        continue;
                    }

                    offenders.Add($"{stack}/{id}: Allow statement with Action \"{action}\"");
                }
            }
        }

        return offenders;
    }

    /// <summary>No identity policy uses Resource "*" unless every action is on the allow-list.</summary>
    public static IReadOnlyList<string> NoWildcardResources(string stack, JsonObject template)
    {
        var offenders = new List<string>();
        foreach (var (id, document, kind) in PolicyDocuments(template).Where(d => d.Kind is "AWS::IAM::Policy" or "AWS::IAM::Role" or "AWS::IAM::ManagedPolicy" or "AWS::IoT::Policy"))
        {
            foreach (var statement in Statements(document).Where(IsAllow))
            {
                if (!Strings(statement["Resource"]).Contains("*"))
                {
                    continue;
                }

                var actions = Strings(statement["Action"]).ToArray();
                var allowed = WildcardResourceAllowList.Any(entry => actions.All(a => entry.Actions.Contains(a, StringComparer.Ordinal)));
                if (!allowed)
                {
                    offenders.Add($"{stack}/{id}: Resource \"*\" for {string.Join(", ", actions)} (not on the allow-list)");
                }
            }
        }

        return offenders;
    }

    /// <summary>
    /// Policies of roles the IoT credentials provider assumes (device roles) write S3 only under
    /// ${credentials-iot:ThingName} prefixes, list only with a thing-name prefix condition, and
    /// never delete.
    /// </summary>
    public static IReadOnlyList<string> DevicePoliciesScopedByThingName(string stack, JsonObject template)
    {
        var offenders = new List<string>();
        var deviceRoles = Resources(template, "AWS::IAM::Role")
            .Where(r => Statements(r.Resource["Properties"]?["AssumeRolePolicyDocument"])
                .Any(s => Flatten(s["Principal"]?["Service"]).Contains("credentials.iot.amazonaws.com", StringComparison.Ordinal)))
            .Select(r => r.Id)
            .ToHashSet(StringComparer.Ordinal);

        foreach (var (id, policy) in Resources(template, "AWS::IAM::Policy"))
        {
            var roles = (policy["Properties"]?["Roles"] as JsonArray ?? []).Select(Flatten);
            if (!roles.Any(r => deviceRoles.Any(d => r == $"<Ref:{d}>")))
            {
                continue;
            }

            foreach (var statement in Statements(policy["Properties"]?["PolicyDocument"]).Where(IsAllow))
            {
                var actions = Strings(statement["Action"]).ToArray();
                var resources = (statement["Resource"] is JsonArray arr ? arr.Select(Flatten) : [Flatten(statement["Resource"])]).ToArray();
                if (actions.Any(a => a.StartsWith("s3:Delete", StringComparison.Ordinal)))
                {
                    offenders.Add($"{stack}/{id}: device policy allows {string.Join(", ", actions)}");
                }

                var writes = actions.Where(a => a is "s3:PutObject" or "s3:AbortMultipartUpload" or "s3:PutObjectAcl" or "s3:PutObjectTagging").ToArray();
                if (writes.Length > 0 && !resources.All(r => r.Contains("${credentials-iot:ThingName}/", StringComparison.Ordinal)))
                {
                    offenders.Add($"{stack}/{id}: device may {string.Join(", ", writes)} outside its thing-name prefix: {string.Join(" | ", resources)}");
                }

                if (actions.Contains("s3:GetObject") && !resources.All(r => r.Contains("${credentials-iot:ThingName}/", StringComparison.Ordinal) || r.Contains("/components/", StringComparison.Ordinal)))
                {
                    offenders.Add($"{stack}/{id}: device may read objects other than its own or the component artifacts: {string.Join(" | ", resources)}");
                }

                if (actions.Contains("s3:ListBucket"))
                {
                    var prefixes = Strings(statement["Condition"]?["StringLike"]?["s3:prefix"]).ToArray();
                    if (prefixes.Length == 0 || !prefixes.All(p => p.Contains("${credentials-iot:ThingName}/", StringComparison.Ordinal)))
                    {
                        offenders.Add($"{stack}/{id}: device may list the bucket without a thing-name prefix condition");
                    }
                }

                if (resources.Contains("*"))
                {
                    offenders.Add($"{stack}/{id}: device policy uses Resource \"*\" for {string.Join(", ", actions)}");
                }
            }
        }

        return offenders;
    }

    /// <summary>Every Lambda that EventBridge invokes (asynchronously) keeps failed events: a DLQ on the target and a DLQ or on-failure destination on the function.</summary>
    public static IReadOnlyList<string> AsyncLambdasHaveDeadLetters(string stack, JsonObject template)
    {
        var offenders = new List<string>();
        var functions = Resources(template, "AWS::Lambda::Function").ToDictionary(f => f.Id, f => f.Resource, StringComparer.Ordinal);
        var onFailure = Resources(template, "AWS::Lambda::EventInvokeConfig")
            .Where(c => c.Resource["Properties"]?["DestinationConfig"]?["OnFailure"]?["Destination"] is not null)
            .Select(c => Flatten(c.Resource["Properties"]?["FunctionName"]))
            .ToHashSet(StringComparer.Ordinal);

        foreach (var (ruleId, rule) in Resources(template, "AWS::Events::Rule"))
        {
            foreach (var target in (rule["Properties"]?["Targets"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var arn = target["Arn"];
                var fnId = arn?["Fn::GetAtt"] is JsonArray getAtt ? getAtt[0]!.GetValue<string>() : null;
                if (fnId is null || !functions.TryGetValue(fnId, out var fn))
                {
                    continue;
                }

                if (target["DeadLetterConfig"]?["Arn"] is null)
                {
                    offenders.Add($"{stack}/{ruleId}: target {fnId} has no dead-letter queue");
                }

                var hasDlq = fn["Properties"]?["DeadLetterConfig"]?["TargetArn"] is not null;
                if (!hasDlq && !onFailure.Contains($"<Ref:{fnId}>"))
                {
                    offenders.Add($"{stack}/{fnId}: invoked asynchronously by {ruleId} but has no DLQ or on-failure destination");
                }
            }
        }

        return offenders;
    }

    /// <summary>Every log group has a retention, and every non-CDK-internal function logs to such a group.</summary>
    public static IReadOnlyList<string> LogGroupsHaveRetention(string stack, JsonObject template)
    {
        var offenders = Resources(template, "AWS::Logs::LogGroup")
            .Where(g => g.Resource["Properties"]?["RetentionInDays"] is null)
            .Select(g => $"{stack}/{g.Id}: log group without retention")
            .ToList();
        foreach (var (id, fn) in Resources(template, "AWS::Lambda::Function"))
        {
            if (CdkInternalFunctions.Any(i => id.StartsWith(i.LogicalIdPrefix, StringComparison.Ordinal)))
            {
                continue;
            }

            if (fn["Properties"]?["LoggingConfig"]?["LogGroup"] is null)
            {
                offenders.Add($"{stack}/{id}: function logs to an implicit log group that never expires");
            }
        }

        return offenders;
    }

    /// <summary>No Lambda environment variable carries a literal secret.</summary>
    public static IReadOnlyList<string> NoSecretsInEnvironment(string stack, JsonObject template)
    {
        var offenders = new List<string>();
        foreach (var (id, fn) in Resources(template, "AWS::Lambda::Function"))
        {
            foreach (var (name, value) in fn["Properties"]?["Environment"]?["Variables"] as JsonObject ?? [])
            {
                var literal = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
                if (literal is null)
                {
                    continue; // references (Ref, GetAtt, ImportValue) are resolved by CloudFormation, not stored here
                }

                if (SecretNameRegex().IsMatch(name) && literal.Length > 0)
                {
                    offenders.Add($"{stack}/{id}: environment variable {name} has a literal value");
                }
                else if (SecretValueRegex().IsMatch(literal))
                {
                    offenders.Add($"{stack}/{id}: environment variable {name} looks like a credential");
                }
            }
        }

        return offenders;
    }

    /// <summary>Every DynamoDB table is encrypted with a customer-managed KMS key (not the AWS-owned default).</summary>
    public static IReadOnlyList<string> TablesEncryptedWithCustomerKey(string stack, JsonObject template) =>
        Resources(template, "AWS::DynamoDB::Table")
            .Where(t => t.Resource["Properties"]?["SSESpecification"] is not JsonObject sse
                || sse["SSEEnabled"]?.GetValue<bool>() != true || sse["SSEType"]?.GetValue<string>() != "KMS" || sse["KMSMasterKeyId"] is null)
            .Select(t => $"{stack}/{t.Id}: table is not encrypted with a customer-managed KMS key")
            .ToList();

    /// <summary>
    /// Every CloudFront behavior refuses plain HTTP (redirect-to-https or https-only) and sends the security
    /// headers policy (CSP, HSTS, nosniff, frame options, referrer policy); every S3 origin is reached through
    /// origin access control, never a legacy origin access identity or a public website endpoint.
    /// </summary>
    public static IReadOnlyList<string> DistributionsTlsOnlyWithHeadersAndOac(string stack, JsonObject template)
    {
        var offenders = new List<string>();
        var policies = Resources(template, "AWS::CloudFront::ResponseHeadersPolicy").ToDictionary(p => p.Id, p => p.Resource, StringComparer.Ordinal);
        string[] headers = ["ContentSecurityPolicy", "StrictTransportSecurity", "ContentTypeOptions", "FrameOptions", "ReferrerPolicy"];
        foreach (var (id, distribution) in Resources(template, "AWS::CloudFront::Distribution"))
        {
            var config = distribution["Properties"]?["DistributionConfig"];
            var behaviors = new[] { config?["DefaultCacheBehavior"] }.Concat(config?["CacheBehaviors"] as JsonArray ?? []).OfType<JsonObject>();
            foreach (var behavior in behaviors)
            {
                var path = behavior["PathPattern"]?.GetValue<string>() ?? "default";
                if (behavior["ViewerProtocolPolicy"]?.GetValue<string>() is not ("redirect-to-https" or "https-only"))
                {
                    offenders.Add($"{stack}/{id}: behavior {path} allows plain HTTP");
                }

                var policyId = Flatten(behavior["ResponseHeadersPolicyId"]);
                var policy = policyId.StartsWith("<Ref:", StringComparison.Ordinal) ? policies.GetValueOrDefault(policyId[5..^1]) : null;
                var security = policy?["Properties"]?["ResponseHeadersPolicyConfig"]?["SecurityHeadersConfig"];
                foreach (var header in headers.Where(h => security?[h] is null))
                {
                    offenders.Add($"{stack}/{id}: behavior {path} does not send {header}");
                }
            }

            foreach (var origin in (config?["Origins"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var originId = origin["Id"]?.GetValue<string>() ?? "?";
                var isS3 = origin["S3OriginConfig"] is not null || Flatten(origin["DomainName"]).Contains(".s3.", StringComparison.Ordinal) || Flatten(origin["DomainName"]).Contains("RegionalDomainName", StringComparison.Ordinal);
                if (isS3 && (origin["OriginAccessControlId"] is null || Flatten(origin["S3OriginConfig"]?["OriginAccessIdentity"]).Length > 0))
                {
                    offenders.Add($"{stack}/{id}: S3 origin {originId} is not behind origin access control");
                }

                if (origin["CustomOriginConfig"]?["OriginProtocolPolicy"]?.GetValue<string>() is { } p && p != "https-only")
                {
                    offenders.Add($"{stack}/{id}: origin {originId} is reached with {p}");
                }
            }
        }

        return offenders;
    }

    /// <summary>Every HTTP API route requires the JWT authorizer: none is reachable without a verified token.</summary>
    public static IReadOnlyList<string> ApiRoutesAuthorized(string stack, JsonObject template) =>
        Resources(template, "AWS::ApiGatewayV2::Route")
            .Where(r => r.Resource["Properties"]?["AuthorizationType"]?.GetValue<string>() != "JWT" || r.Resource["Properties"]?["AuthorizerId"] is null)
            .Select(r => $"{stack}/{r.Id}: route {Flatten(r.Resource["Properties"]?["RouteKey"])} has no JWT authorizer")
            .ToList();

    public static IReadOnlyList<Func<string, JsonObject, IReadOnlyList<string>>> All { get; } =
    [
        BucketsEncrypted, BucketsBlockPublicAccess, BucketsEnforceSsl, NoWildcardActions, NoWildcardResources,
        DevicePoliciesScopedByThingName, AsyncLambdasHaveDeadLetters, LogGroupsHaveRetention, NoSecretsInEnvironment,
        TablesEncryptedWithCustomerKey, DistributionsTlsOnlyWithHeadersAndOac, ApiRoutesAuthorized,
    ];

    /// <summary>A CloudFormation value as text: literals kept, references written as &lt;Ref:Id&gt; / &lt;GetAtt:Id.Attr&gt;.</summary>
    public static string Flatten(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v => v.ToJsonString(),
        JsonObject o when o["Ref"] is { } r => $"<Ref:{Flatten(r)}>",
        JsonObject o when o["Fn::GetAtt"] is JsonArray a => $"<GetAtt:{string.Join('.', a.Select(Flatten))}>",
        JsonObject o when o["Fn::ImportValue"] is { } i => $"<Import:{Flatten(i)}>",
        JsonObject o when o["Fn::Join"] is JsonArray { Count: 2 } j => string.Join(Flatten(j[0]), (j[1] as JsonArray ?? []).Select(Flatten)),
        JsonObject o when o["Fn::Sub"] is { } sub => Flatten(sub is JsonArray sa ? sa[0] : sub),
        JsonArray a => string.Join(",", a.Select(Flatten)),
        _ => node.ToJsonString(),
    };

    private static IEnumerable<(string Id, JsonNode? Document, string Kind)> PolicyDocuments(JsonObject template)
    {
        foreach (var (id, resource) in (template["Resources"] as JsonObject ?? []).Select(p => (p.Key, p.Value as JsonObject)))
        {
            var type = resource?["Type"]?.GetValue<string>() ?? "";
            var props = resource?["Properties"];
            switch (type)
            {
                case "AWS::IAM::Policy" or "AWS::IAM::ManagedPolicy" or "AWS::S3::BucketPolicy" or "AWS::SQS::QueuePolicy" or "AWS::SNS::TopicPolicy" or "AWS::IoT::Policy":
                    yield return (id, props?["PolicyDocument"], type);
                    break;
                case "AWS::IAM::Role":
                    foreach (var inline in (props?["Policies"] as JsonArray ?? []).OfType<JsonObject>())
                    {
                        yield return (id, inline["PolicyDocument"], type);
                    }

                    break;
                case "AWS::KMS::Key":
                    yield return (id, props?["KeyPolicy"], type);
                    break;
            }
        }
    }

    private static IEnumerable<JsonObject> Statements(JsonNode? document) => document?["Statement"] switch
    {
        JsonArray a => a.OfType<JsonObject>(),
        JsonObject o => [o],
        _ => [],
    };

    private static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonArray a => a.Select(Flatten),
        null => [],
        _ => [Flatten(node)],
    };

    private static bool IsAllow(JsonObject statement) => statement["Effect"]?.GetValue<string>() == "Allow";

    private static bool DeniesInsecureTransport(JsonObject statement) =>
        statement["Effect"]?.GetValue<string>() == "Deny"
        && Flatten(statement["Condition"]?["Bool"]?["aws:SecureTransport"]) == "false";

    private static bool IsAccountRoot(JsonNode? principal) =>
        Flatten(principal?["AWS"]) is var p && p.EndsWith(":root", StringComparison.Ordinal);
}
