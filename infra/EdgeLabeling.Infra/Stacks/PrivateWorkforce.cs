using Amazon.CDK;
using Amazon.CDK.AWS.Cognito;
using Amazon.CDK.AWS.Sagemaker;
using Constructs;

namespace EdgeLabeling.Infra.Stacks;

/// <summary>
/// A Cognito user pool, app client and group plus the Ground Truth private workteam built on them.
/// The first Cognito workteam of a region also creates the account's private workforce (one per
/// region), so this is only for accounts that do not have one yet; otherwise import the team's ARN.
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

        new UserPoolDomain(this, "Domain", new UserPoolDomainProps
        {
            UserPool = pool,
            CognitoDomain = new CognitoDomainOptions { DomainPrefix = $"edgelabeling-{environmentName}-{Aws.ACCOUNT_ID}" },
        });

        // Ground Truth signs workers in through the hosted UI with a confidential client (code grant).
        var client = pool.AddClient("GroundTruthClient", new UserPoolClientOptions
        {
            GenerateSecret = true,
            OAuth = new OAuthSettings
            {
                Flows = new OAuthFlows { AuthorizationCodeGrant = true, ImplicitCodeGrant = true },
                Scopes = [OAuthScope.EMAIL, OAuthScope.OPENID, OAuthScope.PROFILE],
            },
            SupportedIdentityProviders = [UserPoolClientIdentityProvider.COGNITO],
            PreventUserExistenceErrors = true,
        });

        var group = new CfnUserPoolGroup(this, "Labelers", new CfnUserPoolGroupProps
        {
            UserPoolId = pool.UserPoolId,
            GroupName = "labelers",
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

    /// <summary>User pool holding the labelers; add them to the "labelers" group.</summary>
    public IUserPool UserPool { get; }

    /// <summary>ARN of the created private workteam.</summary>
    public string WorkteamArn { get; }
}
