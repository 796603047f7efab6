using System.Text.Json;
using EdgeLabeling.Labeling.Tests.Support;

namespace EdgeLabeling.Labeling.Tests.Handlers;

public class LabelingOptionsTests
{
    private static LabelingOptions From(params (string Name, string Value)[] vars)
    {
        var d = vars.ToDictionary(v => v.Name, v => v.Value);
        return LabelingOptions.FromEnvironment(n => d.GetValueOrDefault(n));
    }

    [Fact]
    public void FromEnvironment_AllVariables_AreRead()
    {
        var o = From(
            ("AWS_REGION", "ap-southeast-2"), ("INCOMING_BUCKET", "in"), ("DATA_BUCKET", "data"), ("TABLE_NAME", "pending"),
            ("WORKTEAM_ARN", "arn:w"), ("GT_ROLE_ARN", "arn:r"), ("KMS_KEY_ID", "key"), ("LABEL_ATTRIBUTE", "defects"),
            ("BATCH_MIN_ITEMS", "50"), ("BATCH_MAX_AGE_MINUTES", "90"), ("MONTHLY_BUDGET_USD", "12.5"), ("LABELERS", "3"),
            ("LABELER_HOURS_PER_DAY", "4"), ("TASK_AVAILABILITY_DAYS", "2"), ("SECONDS_PER_IMAGE", "15"), ("PRICE_TIERS", "10:0.1,*:0.05"),
            ("FREE_OBJECTS_PER_MONTH", "500"), ("WORKERS_PER_OBJECT", "2"), ("CLASS_NAMES", "valve, gauge"), ("JOB_TAGS", "team=ops,cost=lab"));

        Assert.Equal("ap-southeast-2", o.Region);
        Assert.Equal("in", o.IncomingBucket);
        Assert.Equal("pending", o.TableName);
        Assert.Equal("defects", o.LabelAttribute);
        Assert.Equal(50, o.Batching.MinItems);
        Assert.Equal(TimeSpan.FromMinutes(90), o.Batching.MaxAge);
        Assert.Equal(12.5m, o.Budget.MonthlyBudgetUsd);
        Assert.Equal(500, o.Budget.FreeObjectsPerMonth);
        Assert.Equal(2, o.Task.WorkersPerObject);
        Assert.Equal(3 * 4 * 2 * 3600 / 15 / 2, o.Batching.JobSizeCap(o.Task.WorkersPerObject));
        Assert.Equal(["valve", "gauge"], o.ClassNames);
        Assert.Equal("lab", o.JobTags["cost"]);
        Assert.Equal(2 * 86_400, o.Task.TaskAvailabilitySeconds(o.Batching));
    }

    [Theory]
    [InlineData("BATCH_MIN_ITEMS", "many")]
    [InlineData("MONTHLY_BUDGET_USD", "$5")]
    [InlineData("BATCH_MAX_AGE_MINUTES", "soon")]
    [InlineData("JOB_TAGS", "novalue")]
    [InlineData("PRICE_TIERS", "0.08")]
    public void FromEnvironment_MalformedValue_NamesTheVariable(string name, string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => From((name, value)));

        Assert.Contains(name, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AWS_REGION", "eu-south-2")]
    [InlineData("LABEL_ATTRIBUTE", "parts-ref")]
    [InlineData("TASK_AVAILABILITY_DAYS", "31")]
    [InlineData("WORKERS_PER_OBJECT", "10")]
    [InlineData("SET_ASIDE_AFTER_RETURNS", "-1")]
    public void FromEnvironment_ValueThatCannotWork_IsRefused(string name, string value)
    {
        Assert.Throws<ArgumentException>(() => From((name, value)));
    }

    [Fact]
    public void FromEnvironment_SetAsideAfterReturns_IsReadAndDefaultsToThree()
    {
        Assert.Equal(5, From(("SET_ASIDE_AFTER_RETURNS", "5")).Batching.SetAsideAfterReturns);
        Assert.Equal(0, From(("SET_ASIDE_AFTER_RETURNS", "0")).Batching.SetAsideAfterReturns);
        Assert.Equal(3, From().Batching.SetAsideAfterReturns);
    }

    [Fact]
    public void EmfMetrics_Line_IsEmbeddedMetricFormat()
    {
        var output = new StringWriter();
        new EmfMetrics(output, "EdgeLabeling", new ManualTime(Fixtures.Start))
            .Emit("BatchRuns", 1, "Count", new Dictionary<string, string> { ["Decision"] = "budget-exhausted" }, new Dictionary<string, string> { ["Month"] = "2026-11" });

        using var doc = JsonDocument.Parse(output.ToString());
        var root = doc.RootElement;
        var aws = root.GetProperty("_aws");
        Assert.Equal(Fixtures.Start.ToUnixTimeMilliseconds(), aws.GetProperty("Timestamp").GetInt64());
        var directive = aws.GetProperty("CloudWatchMetrics")[0];
        Assert.Equal("EdgeLabeling", directive.GetProperty("Namespace").GetString());
        Assert.Equal("Decision", directive.GetProperty("Dimensions")[0][0].GetString());
        Assert.Equal("BatchRuns", directive.GetProperty("Metrics")[0].GetProperty("Name").GetString());
        Assert.Equal("budget-exhausted", root.GetProperty("Decision").GetString());
        Assert.Equal("2026-11", root.GetProperty("Month").GetString());
        Assert.Equal(1, root.GetProperty("BatchRuns").GetDouble());
        Assert.Equal(1, output.ToString().Count(c => c == '\n'));
    }

    [Theory]
    [InlineData("AWS_LAMBDA_FUNCTION_NAME", "EdgeLabeling-dev-Labeling-IngestFunction", "TABLE_NAME")]
    [InlineData("AWS_LAMBDA_FUNCTION_NAME", "EdgeLabeling-dev-Labeling-IngestFunction", "DATA_BUCKET")]
    [InlineData("AWS_EXECUTION_ENV", "AWS_Lambda_dotnet10", "TABLE_NAME")]
    [InlineData("AWS_EXECUTION_ENV", "AWS_Lambda_dotnet10", "DATA_BUCKET")]
    public void FromEnvironment_OnLambdaWithoutTableOrBucket_FailsNamingTheVariable(string lambdaVariable, string lambdaValue, string missing)
    {
        var vars = new Dictionary<string, string>
        {
            [lambdaVariable] = lambdaValue,
            ["AWS_REGION"] = "eu-west-1",
            ["TABLE_NAME"] = "pending",
            ["DATA_BUCKET"] = "data",
        };
        vars.Remove(missing);

        var ex = Assert.Throws<InvalidOperationException>(() => LabelingOptions.FromEnvironment(vars.GetValueOrDefault));

        Assert.Contains(missing, ex.Message);
        Assert.Contains("local runs only", ex.Message);
    }

    [Fact]
    public void FromEnvironment_OnLambdaWithTableAndBucket_UsesDynamoDbAndTheBucket()
    {
        var o = From(("AWS_LAMBDA_FUNCTION_NAME", "fn"), ("AWS_REGION", "eu-west-1"), ("TABLE_NAME", "pending"), ("DATA_BUCKET", "data"));

        Assert.Equal("pending", o.TableName);
        Assert.Equal("data", o.DataBucket);
    }

    [Fact]
    public void FromEnvironment_LocallyWithoutTable_KeepsTheSqliteFallback()
    {
        var o = From(("AWS_REGION", "eu-west-1"));

        Assert.Null(o.TableName);
        Assert.EndsWith("edgelabel-pending.db", o.PendingDbPath, StringComparison.Ordinal);
    }
}
