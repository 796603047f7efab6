using EdgeLabeling.Labeling.SageMaker;

namespace EdgeLabeling.Labeling.Tests.SageMaker;

public class CreateLabelingJobValidatorTests
{
    internal static CreateLabelingJobRequest Valid() => new()
    {
        LabelingJobName = "edgelabel-20261126t060000-0a1b2c3d",
        LabelAttributeName = "parts-human",
        InputConfig = new LabelingJobInputConfig { DataSource = new LabelingJobDataSource { S3DataSource = new LabelingJobS3DataSource { ManifestS3Uri = "s3://data/jobs/input/j/input.manifest" } } },
        OutputConfig = new LabelingJobOutputConfig { S3OutputPath = "s3://data/jobs/output/", KmsKeyId = "arn:aws:kms:us-east-1:123456789012:key/abc" },
        RoleArn = "arn:aws:iam::123456789012:role/gt",
        LabelCategoryConfigS3Uri = "s3://data/jobs/input/j/label-categories.json",
        HumanTaskConfig = new HumanTaskConfig
        {
            WorkteamArn = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/team",
            UiConfig = new UiConfig { UiTemplateS3Uri = "s3://data/jobs/input/j/t.html" },
            PreHumanTaskLambdaArn = BuiltInLambdas.PreHumanTask("us-east-1", BuiltInLambdas.AdjustmentBoundingBox),
            AnnotationConsolidationConfig = new AnnotationConsolidationConfig { AnnotationConsolidationLambdaArn = BuiltInLambdas.Consolidation("us-east-1", BuiltInLambdas.AdjustmentBoundingBox) },
            TaskKeywords = ["Images", "bounding boxes"],
            TaskTitle = "Title",
            TaskDescription = "Description",
            NumberOfHumanWorkersPerDataObject = 1,
            TaskTimeLimitInSeconds = 300,
            TaskAvailabilityLifetimeInSeconds = 259_200,
            MaxConcurrentTaskCount = 1000,
        },
        Tags = [new SageMakerTag { Key = "edgelabeling:batch-id", Value = "x" }],
    };

    [Fact]
    public void Validate_CompleteRequest_HasNoProblems()
    {
        Assert.Empty(CreateLabelingJobValidator.Validate(Valid()));
    }

    public static TheoryData<string, Func<CreateLabelingJobRequest, CreateLabelingJobRequest>> Broken() => new()
    {
        { "LabelingJobName is required", r => r with { LabelingJobName = null } },
        { "LabelingJobName must be 1-63", r => r with { LabelingJobName = new string('a', 64) } },
        { "LabelingJobName '-bad'", r => r with { LabelingJobName = "-bad" } },
        { "LabelingJobName 'under_score'", r => r with { LabelingJobName = "under_score" } },
        { "LabelAttributeName must not end with -metadata", r => r with { LabelAttributeName = "parts-metadata" } },
        { "LabelAttributeName must not end with -ref", r => r with { LabelAttributeName = "parts-ref" } },
        { "InputConfig is required", r => r with { InputConfig = null } },
        { "ManifestS3Uri 'ftp://x'", r => r with { InputConfig = new LabelingJobInputConfig { DataSource = new LabelingJobDataSource { S3DataSource = new LabelingJobS3DataSource { ManifestS3Uri = "ftp://x" } } } } },
        { "exactly one of S3DataSource or SnsDataSource", r => r with { InputConfig = new LabelingJobInputConfig { DataSource = new LabelingJobDataSource() } } },
        { "ContentClassifiers value 'FreeOfCats'", r => r with { InputConfig = r.InputConfig! with { DataAttributes = new LabelingJobDataAttributes { ContentClassifiers = ["FreeOfCats"] } } } },
        { "OutputConfig.S3OutputPath is required", r => r with { OutputConfig = new LabelingJobOutputConfig() } },
        { "RoleArn must be 20-2048", r => r with { RoleArn = "arn:short" } },
        { "RoleArn 'arn:aws:iam::123:role/too-short-account'", r => r with { RoleArn = "arn:aws:iam::123:role/too-short-account" } },
        { "HumanTaskConfig is required", r => r with { HumanTaskConfig = null } },
        { "WorkteamArn", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { WorkteamArn = "arn:aws:sagemaker:us-east-1:123456789012:team/x" } } },
        { "UiConfig must have exactly one", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { UiConfig = new UiConfig() } } },
        { "TaskKeywords must have 1-5 items", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { TaskKeywords = ["a", "b", "c", "d", "e", "f"] } } },
        { "TaskKeywords item 'two  spaces'", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { TaskKeywords = ["two  spaces"] } } },
        { "TaskTitle must be 1-128", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { TaskTitle = "" } } },
        { "TaskDescription must be 1-255", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { TaskDescription = new string('d', 256) } } },
        { "NumberOfHumanWorkersPerDataObject must be between 1 and 9", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { NumberOfHumanWorkersPerDataObject = 10 } } },
        { "TaskTimeLimitInSeconds must be between 30 and 28800", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { TaskTimeLimitInSeconds = 28_801 } } },
        { "TaskTimeLimitInSeconds is required", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { TaskTimeLimitInSeconds = null } } },
        { "TaskAvailabilityLifetimeInSeconds must be between 60 and 2592000", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { TaskAvailabilityLifetimeInSeconds = 59 } } },
        { "MaxConcurrentTaskCount must be between 1 and 5000", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { MaxConcurrentTaskCount = 5001 } } },
        { "AnnotationConsolidationConfig is required for the built-in AdjustmentBoundingBox", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { AnnotationConsolidationConfig = null } } },
        { "must be the ACS-AdjustmentBoundingBox function", r => r with { HumanTaskConfig = r.HumanTaskConfig! with { AnnotationConsolidationConfig = new AnnotationConsolidationConfig { AnnotationConsolidationLambdaArn = BuiltInLambdas.Consolidation("us-east-1", "BoundingBox") } } } },
        { "Tags has 51 items", r => r with { Tags = Enumerable.Range(0, 51).Select(i => new SageMakerTag { Key = "k" + i, Value = "v" }).ToList() } },
        { "Tags.Key must be 1-128", r => r with { Tags = [new SageMakerTag { Key = "", Value = "v" }] } },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void Validate_BrokenMember_NamesTheProblem(string expected, Func<CreateLabelingJobRequest, CreateLabelingJobRequest> breakIt)
    {
        var problems = CreateLabelingJobValidator.Validate(breakIt(Valid()));

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void EnsureValid_Invalid_ThrowsListingEveryProblem()
    {
        var ex = Assert.Throws<ArgumentException>(() => CreateLabelingJobValidator.EnsureValid(Valid() with { LabelingJobName = null, RoleArn = null }));

        Assert.Contains("LabelingJobName is required", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RoleArn is required", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("us-east-1", "432418664414")]
    [InlineData("ap-southeast-2", "454466003867")]
    [InlineData("eu-central-1", "203001061592")]
    public void BuiltInLambdas_KnownRegion_UsesThatRegionsGroundTruthAccount(string region, string account)
    {
        Assert.Equal($"arn:aws:lambda:{region}:{account}:function:PRE-AdjustmentBoundingBox", BuiltInLambdas.PreHumanTask(region, BuiltInLambdas.AdjustmentBoundingBox));
        Assert.Equal($"arn:aws:lambda:{region}:{account}:function:ACS-BoundingBox", BuiltInLambdas.Consolidation(region, BuiltInLambdas.BoundingBox));
    }

    [Fact]
    public void BuiltInLambdas_TwelveDocumentedRegions()
    {
        Assert.Equal(12, BuiltInLambdas.AccountByRegion.Count);
    }

    [Fact]
    public void BuiltInLambdas_UnknownRegion_ThrowsNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => BuiltInLambdas.PreHumanTask("eu-south-2", BuiltInLambdas.BoundingBox));

        Assert.Contains("eu-south-2", ex.Message, StringComparison.Ordinal);
    }
}
