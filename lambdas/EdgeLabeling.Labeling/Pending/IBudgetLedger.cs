namespace EdgeLabeling.Labeling.Pending;

/// <summary>
/// The monthly labeling budget counter. It only grows through <see cref="TryReserveBudgetAsync"/>, which is
/// conditional on the month's object count being the one the forecast was made for and on the limit not
/// being exceeded, so two batchers reserving at once cannot overspend.
/// </summary>
public interface IBudgetLedger
{
    /// <summary>The month's budget counter (zero when nothing was spent).</summary>
    Task<BudgetState> GetBudgetAsync(string month, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds <paramref name="objects"/> and <paramref name="usd"/> to the month's counter if the counter
    /// still holds <paramref name="expectedObjects"/> objects and stays within <paramref name="limitUsd"/>.
    /// </summary>
    Task<bool> TryReserveBudgetAsync(string month, long expectedObjects, long objects, decimal usd, decimal limitUsd, CancellationToken cancellationToken = default);

    /// <summary>Gives back a reservation (a batch that was never created, or objects that came back unlabeled).</summary>
    Task RefundBudgetAsync(string month, long objects, decimal usd, CancellationToken cancellationToken = default);
}

/// <summary>The month's labeling spend as reserved by created jobs.</summary>
public sealed record BudgetState(string Month, long Objects, decimal SpentUsd);
