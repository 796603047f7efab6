using EdgeLabeling.Contracts;

namespace EdgeLabeling.Infra.Stacks;

/// <summary>
/// The labeling metrics the alarms and the dashboard read: EMF lines the Lambdas log. The names are the
/// contract's <see cref="LabelingMetricNames"/> (the core emits the same constants); dimensions must match
/// exactly too, because CloudWatch treats another dimension set as another metric.
/// </summary>
public static class LabelingMetrics
{
    /// <summary>EMF namespace of every labeling metric.</summary>
    public const string Namespace = LabelingMetricNames.Namespace;

    /// <summary>Items waiting for people after a batcher run (no dimensions; BatchPlanner).</summary>
    public const string PendingItems = LabelingMetricNames.PendingItems;

    /// <summary>
    /// Minutes the oldest still-pending item has waited after a batcher run, 0 when none; no
    /// dimensions, unit None (BatchPlanner.OldestPendingAgeMetric).
    /// </summary>
    public const string OldestPendingAgeMinutes = LabelingMetricNames.OldestPendingAgeMinutes;

    /// <summary>Ground Truth jobs started by a batcher run (no dimensions; BatchPlanner).</summary>
    public const string JobsCreated = LabelingMetricNames.JobsCreated;

    /// <summary>One per batcher run, dimension <see cref="DecisionDimension"/> (BatchPlanner).</summary>
    public const string BatchRuns = LabelingMetricNames.BatchRuns;

    /// <summary>Dimension of <see cref="BatchRuns"/>.</summary>
    public const string DecisionDimension = "Decision";

    /// <summary>BatchDecisions.Deferred: the run hit an error and left its batch for the next run.</summary>
    public const string DeferredDecision = "deferred-after-error";

    /// <summary>Items a run could not batch for lack of budget, dimension Reason=budget-exhausted (BatchPlanner).</summary>
    public const string BudgetBlockedItems = LabelingMetricNames.BudgetBlockedItems;

    /// <summary>Dimension of <see cref="BudgetBlockedItems"/>.</summary>
    public const string ReasonDimension = "Reason";

    /// <summary>BatchDecisions.BudgetExhausted.</summary>
    public const string BudgetExhaustedReason = "budget-exhausted";

    /// <summary>Failed Ground Truth jobs: 1 per job that ended Failed (no dimensions; DatasetMerger).</summary>
    public const string JobsFailed = LabelingMetricNames.JobsFailed;

    /// <summary>
    /// Job creations that failed for good: CreateLabelingJob refused, or the job failed before anyone
    /// labeled anything (no dimensions; BatchPlanner.JobCreationFailuresMetric, emitted by the batcher and the merge).
    /// </summary>
    public const string JobCreationFailures = LabelingMetricNames.JobCreationFailures;

    /// <summary>Items set aside after coming back unlabeled too often, dimension Reason (DatasetMerger.ItemsSetAsideMetric).</summary>
    public const string ItemsSetAside = LabelingMetricNames.ItemsSetAside;

    /// <summary>Wilson lower bound of the production precision, percent, dimension <see cref="ClassDimension"/> (ProductionPrecision.Emit, called by the merge).</summary>
    public const string ProductionPrecisionLowerBound = LabelingMetricNames.ProductionPrecisionLowerBound;

    /// <summary>Dimension of the per-class production metrics.</summary>
    public const string ClassDimension = LabelingMetricNames.ClassDimension;

    /// <summary>The only Reason an item is set aside for: it came back without a label from a completed job (ReturnReasons.NoLabelInOutput).</summary>
    public const string NoLabelInOutputReason = "no-label-in-output";
}
