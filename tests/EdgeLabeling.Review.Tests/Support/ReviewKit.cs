using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using EdgeLabeling.Contracts;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Review.Tests.Support;

/// <summary>A clock tests move by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Inputs shared by the tests: a job's input manifest with model priors, and its categories.</summary>
public static class ReviewKit
{
    public const string Bucket = "data-bucket";
    public static readonly string[] Classes = ["bolt", "nut", "washer"];
    public static readonly DateTimeOffset T0 = new(2026, 11, 26, 8, 0, 0, TimeSpan.Zero);

    public static string Sha(int i) => i.ToString("x64");

    public static string SourceRef(int i) => $"s3://incoming-bucket/incoming/site-a-cam1/2026/11/26/{Sha(i)}.jpg";

    /// <summary>What a careful labeler (or the oracle) says is on image i.</summary>
    public static IReadOnlyList<PixelBox> Truth(int i) => [new(0, 10 + i, 20, 30, 40, 0), new(2, 100, 120, 50, 25, 0)];

    /// <summary>The model's prior: the first true box, a little off.</summary>
    public static PixelBox Prior(int i) => new(0, 12 + i, 22, 30, 40, 0.4);

    public static string InputLine(int i)
    {
        var line = GroundTruthManifest.BuildLine(SourceRef(i), "parts-model", new ImageSize(640, 480), [Prior(i)], Classes, false, "labeling-job/edge-auto-site-a-cam1", T0);
        line["edge-reason"] = "uncertain-box";
        return line.ToJsonString();
    }

    public static async Task GivenInputAsync(IObjectStore store, string job, int count)
    {
        var text = string.Join("\n", Enumerable.Range(1, count).Select(InputLine)) + "\n";
        await store.PutBytesAsync(Bucket, $"jobs/input/{job}/input.manifest", Encoding.UTF8.GetBytes(text), "application/jsonlines");
        await store.PutBytesAsync(Bucket, $"jobs/input/{job}/label-categories.json", JsonSerializer.SerializeToUtf8Bytes(LabelCategoryConfig.FromClassNames(Classes), ContractsJsonContext.Default.LabelCategoryConfig), "application/json");
    }

    /// <summary>A CreateLabelingJob body as the batcher makes it (adjustment task in us-east-1).</summary>
    public static JsonObject RequestJson(string job, bool adjustment = true, int availabilitySeconds = 259200)
    {
        var type = adjustment ? "AdjustmentBoundingBox" : "BoundingBox";
        return new JsonObject
        {
            ["LabelingJobName"] = job,
            ["LabelAttributeName"] = "parts-human",
            ["InputConfig"] = new JsonObject
            {
                ["DataSource"] = new JsonObject { ["S3DataSource"] = new JsonObject { ["ManifestS3Uri"] = $"s3://{Bucket}/jobs/input/{job}/input.manifest" } },
            },
            ["OutputConfig"] = new JsonObject { ["S3OutputPath"] = $"s3://{Bucket}/jobs/output/" },
            ["RoleArn"] = "arn:aws:iam::123456789012:role/GroundTruthRole",
            ["LabelCategoryConfigS3Uri"] = $"s3://{Bucket}/jobs/input/{job}/label-categories.json",
            ["HumanTaskConfig"] = new JsonObject
            {
                ["WorkteamArn"] = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/parts-team",
                ["UiConfig"] = new JsonObject { ["UiTemplateS3Uri"] = $"s3://{Bucket}/jobs/input/{job}/bounding-box.liquid.html" },
                ["PreHumanTaskLambdaArn"] = $"arn:aws:lambda:us-east-1:432418664414:function:PRE-{type}",
                ["TaskKeywords"] = new JsonArray("bounding box", "parts"),
                ["TaskTitle"] = "Adjust boxes around parts",
                ["TaskDescription"] = "Fix the model's boxes around bolts, nuts and washers.",
                ["NumberOfHumanWorkersPerDataObject"] = 1,
                ["TaskTimeLimitInSeconds"] = 600,
                ["TaskAvailabilityLifetimeInSeconds"] = availabilitySeconds,
                ["MaxConcurrentTaskCount"] = 100,
                ["AnnotationConsolidationConfig"] = new JsonObject { ["AnnotationConsolidationLambdaArn"] = $"arn:aws:lambda:us-east-1:432418664414:function:ACS-{type}" },
            },
        };
    }

    public static Labeling.SageMaker.CreateLabelingJobRequest Request(string job, bool adjustment = true, int availabilitySeconds = 259200) =>
        JsonSerializer.Deserialize(RequestJson(job, adjustment, availabilitySeconds).ToJsonString(), Labeling.LabelingJsonContext.Default.CreateLabelingJobRequest)!;

    public static string Worker(string name) => ReviewWorkerId.Format("Cognito", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test", name);

    public static string Answer(params ReviewBox[] boxes) =>
        JsonSerializer.Serialize(new ReviewAnswer { Boxes = boxes }, ReviewJsonContext.Default.ReviewAnswer);

    public static ReviewBox[] TruthAnswer(int i) => [.. Truth(i).Select(b => new ReviewBox(Classes[b.ClassId], b.Left, b.Top, b.Width, b.Height))];
}

/// <summary>The shared dynalite server (scripts/dynamodb.sh); a test fails with instructions when it does not answer.</summary>
public static class Dynalite
{
    public static string Endpoint => Environment.GetEnvironmentVariable("DYNAMODB_ENDPOINT") is { Length: > 0 } v ? v : "http://127.0.0.1:48000";

    public static AmazonDynamoDBClient Client() => new(new BasicAWSCredentials("dynalite-test", "dynalite-test-secret"), new AmazonDynamoDBConfig
    {
        RegionEndpoint = RegionEndpoint.USEast1,
        ServiceURL = Endpoint,
        AuthenticationRegion = "us-east-1",
        Timeout = TimeSpan.FromSeconds(30),
    });

    public static async Task<string> CreateTaskTableAsync()
    {
        var name = "review-" + Guid.NewGuid().ToString("N")[..12];
        using var c = Client();
        try
        {
            await c.CreateTableAsync(DynamoDbReviewTaskStore.TableDefinition(name));
        }
        catch (HttpRequestException ex)
        {
            throw new InvalidOperationException($"dynalite does not answer at {Endpoint}: start it with scripts/dynamodb.sh start ({ex.Message})", ex);
        }

        await Eventually.Until(
            async () => (await c.DescribeTableAsync(name)).Table is { TableStatus: var s, GlobalSecondaryIndexes: var gsis }
                && s == TableStatus.ACTIVE && gsis.All(g => g.IndexStatus == IndexStatus.ACTIVE),
            TimeSpan.FromSeconds(5),
            $"table {name} and its indexes becoming ACTIVE at {Endpoint}");
        return name;
    }

    public static async Task DeleteTableAsync(string name)
    {
        using var c = Client();
        await c.DeleteTableAsync(name);
    }
}
