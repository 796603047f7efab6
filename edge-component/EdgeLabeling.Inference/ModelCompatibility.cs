namespace EdgeLabeling.Inference;

/// <summary>
/// What a new model must keep from the one the fleet runs, so that the edge component, the routing thresholds
/// (keyed by class name) and the dataset (class ids and names) stay meaningful after the release.
/// </summary>
public static class ModelCompatibility
{
    /// <summary>
    /// Parses <c>--class-map old=new</c> entries (a class renamed on purpose). Throws <see cref="ArgumentException"/>
    /// naming the bad entry.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ParseClassMap(IEnumerable<string> entries)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == entry.Length - 1 || entry.IndexOf('=', eq + 1) >= 0)
            {
                throw new ArgumentException($"--class-map '{entry}' must be OLD=NEW (a current class name, '=', the new model's name for it)");
            }

            var (from, to) = (entry[..eq].Trim(), entry[(eq + 1)..].Trim());
            if (!map.TryAdd(from, to))
            {
                throw new ArgumentException($"--class-map maps class '{from}' twice");
            }
        }

        return map;
    }

    /// <summary>
    /// Compares the new model with the current one. Every problem is listed (not only the first), each naming what
    /// differs. Rules: the image input (name, element type, shape) and the output layout and names are the same; class
    /// i of the new model is class i of the current one under the same name, or under the name <paramref name="classMap"/>
    /// gives it; classes may be added after the current ones, never removed.
    /// </summary>
    public static CompatibilityReport Compare(ModelSignature current, IReadOnlyList<string> currentClasses, string currentLayout,
        ModelSignature candidate, IReadOnlyList<string> candidateClasses, string candidateLayout, IReadOnlyDictionary<string, string> classMap)
    {
        var problems = new List<string>();
        var notes = new List<string>();
        foreach (var from in classMap.Keys.Where(k => !currentClasses.Contains(k, StringComparer.Ordinal)))
        {
            problems.Add($"--class-map names class '{from}', which the current model does not have (its classes: {string.Join(", ", currentClasses)})");
        }

        CompareTensors("input", current.Inputs, candidate.Inputs, sameShape: true, problems);
        if (!string.Equals(currentLayout, candidateLayout, StringComparison.Ordinal))
        {
            problems.Add($"output layout changed from {currentLayout} to {candidateLayout}");
        }

        // A YOLO output's shape holds the class count ([1,4+C,N] / [1,N,5+C]), so shapes may differ exactly when classes were added.
        CompareTensors("output", current.Outputs, candidate.Outputs, sameShape: currentClasses.Count == candidateClasses.Count, problems);

        for (var i = 0; i < currentClasses.Count; i++)
        {
            var was = currentClasses[i];
            var expected = classMap.TryGetValue(was, out var mapped) ? mapped : was;
            if (i >= candidateClasses.Count)
            {
                problems.Add($"class {i} '{was}' is missing from the new model (it has {candidateClasses.Count} classes: {string.Join(", ", candidateClasses)})");
                continue;
            }

            var now = candidateClasses[i];
            if (string.Equals(now, expected, StringComparison.Ordinal))
            {
                if (!string.Equals(was, now, StringComparison.Ordinal))
                {
                    notes.Add($"class {i} '{was}' is now '{now}' (--class-map)");
                }

                continue;
            }

            var movedTo = candidateClasses.ToList().IndexOf(expected);
            problems.Add(movedTo >= 0
                ? $"class '{was}' moved from id {i} to id {movedTo} (id {i} is now '{now}'): reordered classes would relabel every box; keep the order"
                : classMap.ContainsKey(was)
                    ? $"class {i} is '{now}' in the new model, but --class-map says '{was}' becomes '{expected}'"
                    : $"class {i} '{was}' is '{now}' in the new model: if it was renamed on purpose, pass --class-map {was}={now}");
        }

        foreach (var added in candidateClasses.Skip(currentClasses.Count))
        {
            notes.Add($"new class '{added}' (id {candidateClasses.ToList().IndexOf(added)})");
        }

        var duplicates = candidateClasses.GroupBy(c => c, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
        {
            problems.Add($"the new model names more than one class {string.Join(", ", duplicates.Select(d => $"'{d}'"))}");
        }

        return new CompatibilityReport(problems, notes);
    }

    private static void CompareTensors(string what, IReadOnlyList<TensorSignature> current, IReadOnlyList<TensorSignature> candidate, bool sameShape, List<string> problems)
    {
        var currentNames = current.Select(t => t.Name).ToList();
        var candidateNames = candidate.Select(t => t.Name).ToList();
        if (!currentNames.SequenceEqual(candidateNames, StringComparer.Ordinal))
        {
            problems.Add($"{what} names changed from [{string.Join(", ", currentNames)}] to [{string.Join(", ", candidateNames)}]");
            return;
        }

        foreach (var (was, now) in current.Zip(candidate))
        {
            if (!string.Equals(was.ElementType, now.ElementType, StringComparison.Ordinal))
            {
                problems.Add($"{what} '{was.Name}' element type changed from {was.ElementType} to {now.ElementType}");
            }
            else if (sameShape && !was.Shape.SequenceEqual(now.Shape))
            {
                problems.Add($"{what} '{was.Name}' shape changed from {was.ShapeText} to {now.ShapeText}");
            }
            else if (was.Shape.Count != now.Shape.Count)
            {
                problems.Add($"{what} '{was.Name}' rank changed from {was.ShapeText} to {now.ShapeText}");
            }
        }
    }
}

/// <summary>The outcome of <see cref="ModelCompatibility.Compare"/>: problems refuse the release, notes are reported.</summary>
public sealed record CompatibilityReport(IReadOnlyList<string> Problems, IReadOnlyList<string> Notes)
{
    public bool Compatible => Problems.Count == 0;
}
