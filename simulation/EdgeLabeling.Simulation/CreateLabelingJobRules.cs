using System.Text.Json;
using System.Text.RegularExpressions;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.SageMaker;

namespace EdgeLabeling.Simulation;

/// <summary>Checks a CreateLabelingJob request body; returns the constraint violations (empty when valid).</summary>
public interface ICreateLabelingJobRules
{
    /// <exception cref="SageMakerApiException">SerializationException when a member has the wrong JSON type.</exception>
    IReadOnlyList<string> Check(JsonElement request, string region);
}

/// <summary>
/// The API constraints come from the batcher's <see cref="CreateLabelingJobValidator"/> (one rule set for
/// the sender and the simulated receiver). On top, what the service itself enforces and the simulation
/// relies on: the built-in PRE/ACS Lambdas must be the ones of the endpoint's Region (owned by that
/// Region's Ground Truth account), the task type must be a bounding-box type, the data source must be S3
/// (streaming jobs are not simulated) and the label category file must be given (it names the classes).
/// </summary>
public sealed partial class CreateLabelingJobRules : ICreateLabelingJobRules
{
    [GeneratedRegex("^arn:aws[a-z\\-]*:lambda:(?<region>[a-z0-9\\-]+):(?<account>[0-9]{12}):function:(?<phase>PRE|ACS)-(?<type>[A-Za-z0-9]+)$")]
    private static partial Regex BuiltInLambdaPattern();

    public IReadOnlyList<string> Check(JsonElement request, string region)
    {
        CreateLabelingJobRequest? typed;
        try
        {
            typed = request.Deserialize(LabelingJsonContext.Default.CreateLabelingJobRequest);
        }
        catch (JsonException ex)
        {
            throw new SageMakerApiException(400, "SerializationException", $"Request does not match the CreateLabelingJob shape: {ex.Message}");
        }

        var errors = new List<string>(CreateLabelingJobValidator.Validate(typed));
        if (typed is null)
        {
            return errors;
        }

        if (typed.InputConfig?.DataSource?.SnsDataSource is not null)
        {
            errors.Add("InputConfig.DataSource.SnsDataSource: streaming labeling jobs are not supported by this simulation");
        }

        if (typed.LabelCategoryConfigS3Uri is null)
        {
            errors.Add("LabelCategoryConfigS3Uri is required for bounding-box jobs (it names the labels)");
        }

        var h = typed.HumanTaskConfig;
        if (h is not null)
        {
            if (h.PreHumanTaskLambdaArn is null)
            {
                errors.Add("HumanTaskConfig.PreHumanTaskLambdaArn is required for built-in bounding-box task types");
            }
            else
            {
                CheckBuiltIn(h.PreHumanTaskLambdaArn, "PRE", "HumanTaskConfig.PreHumanTaskLambdaArn", region, errors);
            }

            if (h.AnnotationConsolidationConfig?.AnnotationConsolidationLambdaArn is { } acs)
            {
                CheckBuiltIn(acs, "ACS", "HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn", region, errors);
            }

            if (h.UiConfig?.HumanTaskUiArn is not null)
            {
                errors.Add("HumanTaskConfig.UiConfig.HumanTaskUiArn: image bounding box has no HumanTaskUiArn; use UiTemplateS3Uri");
            }

            if (h.PublicWorkforceTaskPrice is not null)
            {
                errors.Add("HumanTaskConfig.PublicWorkforceTaskPrice is only for the public (Mechanical Turk) workforce, not a private team");
            }
        }

        return errors;
    }

    private static void CheckBuiltIn(string arn, string phase, string member, string region, List<string> errors)
    {
        var m = BuiltInLambdaPattern().Match(arn);
        if (!m.Success || m.Groups["phase"].Value != phase)
        {
            errors.Add($"{member} '{arn}' must be a built-in {phase}-<TaskType> Lambda ARN");
            return;
        }

        var arnRegion = m.Groups["region"].Value;
        if (!BuiltInLambdas.AccountByRegion.TryGetValue(arnRegion, out var account))
        {
            errors.Add($"{member} '{arn}': Region '{arnRegion}' has no documented built-in Ground Truth Lambdas");
            return;
        }

        if (arnRegion != region)
        {
            errors.Add($"{member} '{arn}' must be in the job's Region '{region}'");
        }

        if (m.Groups["account"].Value != account)
        {
            errors.Add($"{member} '{arn}': built-in Lambdas in {arnRegion} belong to account {account}");
        }

        if (m.Groups["type"].Value is not (BuiltInLambdas.BoundingBox or BuiltInLambdas.AdjustmentBoundingBox))
        {
            errors.Add($"{member} '{arn}': task type '{m.Groups["type"].Value}' is not a bounding-box task this simulation runs");
        }
    }
}
