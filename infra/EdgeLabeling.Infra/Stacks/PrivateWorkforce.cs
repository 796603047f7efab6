using Amazon.CDK;
using Amazon.CDK.AWS.Cognito;
using Amazon.CDK.AWS.Sagemaker;
using Constructs;

namespace EdgeLabeling.Infra.Stacks;

/// <summary>
/// A Cognito user pool, app client and group plus the Ground Truth private workteam built on them.
/// No AWS::SageMaker::Workforce is declared: the SageMaker API reference (Workforce) and the CloudFormation
/// reference (AWS::SageMaker::Workforce) both say the region's private workforce "is automatically created
/// when you create your first private work team", and CreateWorkteam needs the user pool to exist first.
/// A region allows one private workforce, so this is only for accounts that have none yet; otherwise
/// import the team's ARN (docs/deploy.md).
/// </summary>
public sealed class PrivateWorkforce : Construct
{
    /// <summary>Creates the user pool and the workteam.</summary>
    public PrivateWorkforce(Construct scope, string id, string environmentName, RemovalPolicy removal)
        : base(scope, id)
    {
        var pool = new UserPool(this, "Workers", new UserPoolProps
        {
            UserPoolName = $"edgelabeling-{environmentName}-workers",
            // Labelers are invited by an admin; nobody can sign themselves up.
            SelfSignUpEnabled = false,
            SignInAliases = new SignInAliases { Email = true },
            AccountRecovery = AccountRecovery.EMAIL_ONLY,
            Mfa = Mfa.OPTIONAL,
            MfaSecondFactor = new MfaSecondFactor { Otp = true, Sms = false },
            PasswordPolicy = new PasswordPolicy
            {
                MinLength = 12,
                RequireDigits = true,
                RequireLowercase = true,
                RequireUppercase = true,
                RequireSymbols = true,
                TempPasswordValidity = Duration.Days(7),
            },
            RemovalPolicy = removal,
        });

        Domain = new UserPoolDomain(this, "Domain", new UserPoolDomainProps
        {
            UserPool = pool,
            CognitoDomain = new CognitoDomainOptions { DomainPrefix = $"edgelabeling-{environmentName}-{Aws.ACCOUNT_ID}" },
        });

        // The app client's OAuth settings (flows, scopes, callback and sign-out URLs) are deliberately not in
        // the template: the worker portal's URL exists only once the workforce does, and Cognito's
        // UpdateUserPoolClient resets every setting a request leaves out (cognito-user-pool-updating), so a
        // template value would overwrite what SageMaker or the operator set there on every change of this
        // client. CloudFormation only updates the client when these properties change; a test pins them.
        var client = pool.AddClient("GroundTruthClient", new UserPoolClientOptions
        {
            GenerateSecret = true,
            DisableOAuth = true,
            SupportedIdentityProviders = [UserPoolClientIdentityProvider.COGNITO],
            PreventUserExistenceErrors = true,
        });
        // DisableOAuth renders AllowedOAuthFlowsUserPoolClient=false; leave that to SageMaker / the operator too.
        ((CfnUserPoolClient)client.Node.DefaultChild!).AddPropertyDeletionOverride("AllowedOAuthFlowsUserPoolClient");
        AppClient = client;

        var group = new CfnUserPoolGroup(this, "Labelers", new CfnUserPoolGroupProps
        {
            UserPoolId = pool.UserPoolId,
            GroupName = LabelersGroupName,
            Description = "Members of the EdgeLabeling private workteam",
        });

        var team = new CfnWorkteam(this, "Workteam", new CfnWorkteamProps
        {
            WorkteamName = $"edgelabeling-{environmentName}",
            Description = $"EdgeLabeling {environmentName} private labeling team",
            MemberDefinitions = new object[]
            {
                new CfnWorkteam.MemberDefinitionProperty
                {
                    CognitoMemberDefinition = new CfnWorkteam.CognitoMemberDefinitionProperty
                    {
                        CognitoUserPool = pool.UserPoolId,
                        CognitoClientId = client.UserPoolClientId,
                        CognitoUserGroup = group.GroupName!,
                    },
                },
            },
        });
        team.AddDependency(group);

        UserPool = pool;
        // Ref of AWS::SageMaker::Workteam is the workteam ARN.
        WorkteamArn = team.Ref;
    }

    /// <summary>The Cognito group of the labelers: the workteam's members, and the only callers the review API serves.</summary>
    public const string LabelersGroupName = "labelers";

    /// <summary>The user pool's hosted sign-in domain (&lt;prefix&gt;.auth.&lt;region&gt;.amazoncognito.com).</summary>
    public IUserPoolDomain Domain { get; }

    /// <summary>App client the workteam signs workers in with (its OAuth settings are left to SageMaker / the operator).</summary>
    public IUserPoolClient AppClient { get; }

    /// <summary>User pool holding the labelers; add them to the "labelers" group.</summary>
    public IUserPool UserPool { get; }

    /// <summary>ARN of the created private workteam.</summary>
    public string WorkteamArn { get; }
}
