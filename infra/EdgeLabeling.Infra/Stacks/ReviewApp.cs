using Amazon.CDK;
using Amazon.CDK.AWS.Apigatewayv2;
using Amazon.CDK.AWS.CloudFront;
using Amazon.CDK.AWS.CloudFront.Origins;
using Amazon.CDK.AWS.Cognito;
using Amazon.CDK.AWS.S3;
using Amazon.CDK.AWS.S3.Deployment;
using Amazon.CDK.AwsApigatewayv2Authorizers;
using Amazon.CDK.AwsApigatewayv2Integrations;
using Constructs;
using HttpMethod = Amazon.CDK.AWS.Apigatewayv2.HttpMethod;
using IFunction = Amazon.CDK.AWS.Lambda.IFunction;

namespace EdgeLabeling.Infra.Stacks;

/// <summary>Inputs of <see cref="ReviewApp"/>.</summary>
public sealed record ReviewAppProps
{
    /// <summary>The review API Lambda (ReviewApiFunction).</summary>
    public required IFunction ApiFunction { get; init; }

    /// <summary>The labelers' user pool (the private workforce construct's).</summary>
    public required IUserPool UserPool { get; init; }

    /// <summary>The user pool's hosted sign-in domain.</summary>
    public required IUserPoolDomain UserPoolDomain { get; init; }

    /// <summary>Bucket the review images are presigned from (its host goes into the page's img-src).</summary>
    public required IBucket ImageBucket { get; init; }

    /// <summary>Folder with the built page (review-app/dist, <c>npm run build:review</c>).</summary>
    public required string PagePath { get; init; }

    /// <summary>Log group (with the environment's retention) of CDK's page-deployment function.</summary>
    public required Amazon.CDK.AWS.Logs.ILogGroup DeploymentLogGroup { get; init; }
}

/// <summary>
/// The review app of the built-in backend: the page in a private S3 bucket served by CloudFront through origin
/// access control, the review API (HTTP API + Lambda) behind a Cognito JWT authorizer on every route, and
/// CloudFront's <c>/api/*</c> behavior in front of it so the page calls its own origin (CSP connect-src 'self',
/// no CORS). The page signs in with the user pool's hosted UI (authorization code + PKCE, public app client).
/// </summary>
public sealed class ReviewApp : Construct
{
    /// <summary>The API routes, exactly the review API core's (ReviewApi); each one requires the JWT authorizer.</summary>
    public static readonly IReadOnlyList<(HttpMethod Method, string Path)> Routes =
    [
        (HttpMethod.GET, "/api/jobs"),
        (HttpMethod.POST, "/api/jobs/{job}/lease"),
        (HttpMethod.GET, "/api/jobs/{job}/tasks/{index}"),
        (HttpMethod.POST, "/api/jobs/{job}/tasks/{index}/{action}"),
    ];

    /// <summary>Creates the page bucket, distribution, API and app client.</summary>
    public ReviewApp(Construct scope, string id, ReviewAppProps props)
        : base(scope, id)
    {
        if (!File.Exists(Path.Combine(props.PagePath, "index.html")))
        {
            throw new Configuration.ConfigurationException(
                $"review page folder '{props.PagePath}' has no index.html; run 'npm ci && npm run build:review' (scripts/synth.sh does) or pass -c {AssetPaths.ReviewPageKey}=<folder>");
        }

        var stack = Stack.Of(this);

        // The page is a build output: deleting the stack may delete it, a deploy puts it back.
        var pageBucket = new Bucket(this, "PageBucket", new BucketProps
        {
            Encryption = BucketEncryption.S3_MANAGED,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            RemovalPolicy = RemovalPolicy.DESTROY,
            AutoDeleteObjects = true,
        });

        // --- API: HTTP API, JWT authorizer on every route ---------------------------------------------
        var issuer = $"https://cognito-idp.{stack.Region}.amazonaws.com/{props.UserPool.UserPoolId}";
        var api = new HttpApi(this, "Api", new HttpApiProps
        {
            Description = "EdgeLabeling review API (built-in labeling backend)",
            CreateDefaultStage = true,
        });

        // --- Page: private bucket → CloudFront (OAC), /api/* → the HTTP API -----------------------------
        var signInHost = $"{props.UserPoolDomain.DomainName}.auth.{stack.Region}.amazoncognito.com";
        var headers = new ResponseHeadersPolicy(this, "PageHeaders", new ResponseHeadersPolicyProps
        {
            Comment = "EdgeLabeling review page: CSP, HSTS, nosniff, no framing, no referrer",
            SecurityHeadersBehavior = new ResponseSecurityHeadersBehavior
            {
                ContentSecurityPolicy = new ResponseHeadersContentSecurityPolicy
                {
                    ContentSecurityPolicy = ContentSecurityPolicy(props.ImageBucket.BucketRegionalDomainName, signInHost),
                    Override = true,
                },
                StrictTransportSecurity = new ResponseHeadersStrictTransportSecurity
                {
                    AccessControlMaxAge = Duration.Days(365),
                    IncludeSubdomains = true,
                    Override = true,
                },
                ContentTypeOptions = new ResponseHeadersContentTypeOptions { Override = true },
                FrameOptions = new ResponseHeadersFrameOptions { FrameOption = HeadersFrameOption.DENY, Override = true },
                ReferrerPolicy = new ResponseHeadersReferrerPolicy { ReferrerPolicy = HeadersReferrerPolicy.NO_REFERRER, Override = true },
            },
        });

        var distribution = new Distribution(this, "PageDistribution", new DistributionProps
        {
            Comment = "EdgeLabeling review page and API",
            DefaultRootObject = "index.html",
            HttpVersion = HttpVersion.HTTP2_AND_3,
            PriceClass = PriceClass.PRICE_CLASS_100,
            DefaultBehavior = new BehaviorOptions
            {
                // S3BucketOrigin.WithOriginAccessControl creates the AWS::CloudFront::OriginAccessControl and
                // the bucket policy statement that lets only this distribution read (aws:SourceArn).
                Origin = S3BucketOrigin.WithOriginAccessControl(pageBucket),
                ViewerProtocolPolicy = ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                ResponseHeadersPolicy = headers,
                CachePolicy = CachePolicy.CACHING_OPTIMIZED,
            },
            AdditionalBehaviors = new Dictionary<string, IBehaviorOptions>
            {
                ["/api/*"] = new BehaviorOptions
                {
                    Origin = new HttpOrigin($"{api.ApiId}.execute-api.{stack.Region}.{stack.UrlSuffix}", new HttpOriginProps
                    {
                        ProtocolPolicy = OriginProtocolPolicy.HTTPS_ONLY,
                        OriginSslProtocols = [OriginSslPolicy.TLS_V1_2],
                    }),
                    ViewerProtocolPolicy = ViewerProtocolPolicy.HTTPS_ONLY,
                    AllowedMethods = AllowedMethods.ALLOW_ALL,
                    // Never cached; with caching disabled the all-viewer-except-Host policy forwards the
                    // Authorization header (CloudFront knowledge center: cloudfront-authorization-header).
                    CachePolicy = CachePolicy.CACHING_DISABLED,
                    OriginRequestPolicy = OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    ResponseHeadersPolicy = headers,
                },
            },
        });
        var pageUrl = $"https://{distribution.DistributionDomainName}/";

        // A public client (no secret: a browser cannot keep one) for the page only; the workteam keeps its own.
        var client = new UserPoolClient(this, "PageClient", new UserPoolClientProps
        {
            UserPool = props.UserPool,
            GenerateSecret = false,
            PreventUserExistenceErrors = true,
            SupportedIdentityProviders = [UserPoolClientIdentityProvider.COGNITO],
            AccessTokenValidity = Duration.Hours(1),
            IdTokenValidity = Duration.Hours(1),
            RefreshTokenValidity = Duration.Hours(12),
            OAuth = new OAuthSettings
            {
                Flows = new OAuthFlows { AuthorizationCodeGrant = true },
                Scopes = [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
                CallbackUrls = [pageUrl],
                LogoutUrls = [pageUrl],
            },
        });

        var authorizer = new HttpJwtAuthorizer("CognitoLabelers", issuer, new HttpJwtAuthorizerProps
        {
            // API Gateway matches the access token's client_id (or an ID token's aud) against this list.
            JwtAudience = [client.UserPoolClientId],
            IdentitySource = ["$request.header.Authorization"],
        });
        var integration = new HttpLambdaIntegration("ReviewApi", props.ApiFunction, new HttpLambdaIntegrationProps
        {
            PayloadFormatVersion = PayloadFormatVersion.VERSION_2_0,
        });
        foreach (var (method, path) in Routes)
        {
            api.AddRoutes(new AddRoutesOptions { Path = path, Methods = [method], Integration = integration, Authorizer = authorizer });
        }

        // Five labelers need little: a low default-stage limit bounds what a leaked token can cost.
        var stage = (CfnStage)api.DefaultStage!.Node.DefaultChild!;
        stage.DefaultRouteSettings = new CfnStage.RouteSettingsProperty { ThrottlingBurstLimit = 50, ThrottlingRateLimit = 25 };

        new BucketDeployment(this, "PageDeployment", new BucketDeploymentProps
        {
            DestinationBucket = pageBucket,
            Sources =
            [
                Source.Asset(props.PagePath),
                // Read by the page at start: where to sign in. Values are resolved at deploy time.
                Source.JsonData("config.json", new Dictionary<string, object>
                {
                    ["signIn"] = new Dictionary<string, object>
                    {
                        ["authorizeUrl"] = $"https://{signInHost}/oauth2/authorize",
                        ["tokenUrl"] = $"https://{signInHost}/oauth2/token",
                        ["clientId"] = client.UserPoolClientId,
                        ["redirectUri"] = pageUrl,
                    },
                }),
            ],
            // Every file is revalidated (ETag → 304) instead of invalidating the distribution after a deploy:
            // the page is a few files, and an invalidation would need cloudfront:CreateInvalidation on "*".
            CacheControl = [Amazon.CDK.AWS.S3.Deployment.CacheControl.NoCache()],
            Prune = true,
            MemoryLimit = 256,
            LogGroup = props.DeploymentLogGroup,
        });

        PageBucket = pageBucket;
        Distribution = distribution;
        Api = api;
        PageClient = client;
        Issuer = issuer;
        PageUrl = pageUrl;
        new CfnOutput(this, "ReviewPageUrl", new CfnOutputProps { Value = pageUrl, Description = "The review page: labelers in the 'labelers' group sign in here" });
        new CfnOutput(this, "ReviewApiUrl", new CfnOutputProps { Value = api.ApiEndpoint, Description = "The review API (also under the page URL at /api/)" });
    }

    /// <summary>
    /// The page's CSP: its own scripts and styles only, images from itself and the image bucket's presigned
    /// links, API calls to itself and the token exchange to the sign-in domain, no framing, no forms, no plugins.
    /// </summary>
    public static string ContentSecurityPolicy(string imageHost, string signInHost) =>
        $"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data: https://{imageHost}; connect-src 'self' https://{signInHost}; " +
        "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>Private bucket holding the built page.</summary>
    public IBucket PageBucket { get; }

    /// <summary>The distribution serving the page and /api/*.</summary>
    public IDistribution Distribution { get; }

    /// <summary>The review HTTP API.</summary>
    public IHttpApi Api { get; }

    /// <summary>The page's public app client (the JWT authorizer's audience).</summary>
    public IUserPoolClient PageClient { get; }

    /// <summary>The JWT authorizer's issuer (the user pool).</summary>
    public string Issuer { get; }

    /// <summary>https://&lt;distribution&gt;/</summary>
    public string PageUrl { get; }
}
