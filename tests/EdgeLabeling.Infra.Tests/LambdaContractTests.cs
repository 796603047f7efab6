using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Fleet;
using EdgeLabeling.Labeling.Jobs;
using EdgeLabeling.Lambdas;

namespace EdgeLabeling.Infra.Tests;

/// <summary>
/// The synthesized functions against the runtime that will read them: the environment each function
/// gets, the handler strings and the metrics the alarms watch, all checked against the code itself.
/// </summary>
[Collection(SynthCollection.Name)]
public sealed partial class LambdaContractTests(SynthFixture synth)
{
    public static TheoryData<string> Envs => new(SynthFixture.EnvironmentNames);

    /// <summary>How each variable the stack sets shows up in the options; every Required name must be here.</summary>
    private static readonly Dictionary<string, Func<LabelingOptions, FleetOptions, BuiltInBackendSettings?, string?>> RequiredReadBack = new(StringComparer.Ordinal)
    {
        [LambdaEnvironment.DataBucket] = (o, _, _) => o.DataBucket,
        [LambdaEnvironment.TableName] = (o, _, _) => o.TableName,
        [LambdaEnvironment.IncomingBucket] = (o, _, _) => o.IncomingBucket,
        [LambdaEnvironment.WorkteamArn] = (o, _, _) => o.WorkteamArn,
        [LambdaEnvironment.GroundTruthRoleArn] = (o, _, _) => o.GroundTruthRoleArn,
        [LambdaEnvironment.KmsKeyId] = (o, _, _) => o.KmsKeyId,
        [LambdaEnvironment.LabelAttribute] = (o, _, _) => o.LabelAttribute,
        [LambdaEnvironment.BatchMinItems] = (o, _, _) => o.Batching.MinItems.ToString(CultureInfo.InvariantCulture),
        [LambdaEnvironment.BatchMaxAgeMinutes] = (o, _, _) => o.Batching.MaxAge.TotalMinutes.ToString(CultureInfo.InvariantCulture),
        [LambdaEnvironment.MonthlyBudgetUsd] = (o, _, _) => o.Budget.MonthlyBudgetUsd.ToString(CultureInfo.InvariantCulture),
        [LambdaEnvironment.JobNamePrefix] = (o, _, _) => o.Batching.JobNamePrefix,
        [LambdaEnvironment.SetAsideAfterReturns] = (o, _, _) => o.Batching.SetAsideAfterReturns.ToString(CultureInfo.InvariantCulture),
        [LambdaEnvironment.LabelingBackend] = (o, _, _) => o.Backend,
        [LambdaEnvironment.PrecisionWindowDays] = (o, _, _) => o.ProductionPrecision.WindowDays.ToString(CultureInfo.InvariantCulture),
        [LambdaEnvironment.PrecisionMinBoxes] = (o, _, _) => o.ProductionPrecision.MinBoxes.ToString(CultureInfo.InvariantCulture),
        [LambdaEnvironment.FleetTableName] = (_, f, _) => f.TableName,
        [LambdaEnvironment.FleetSilentHours] = (_, f, _) => f.Thresholds.Silent.TotalHours.ToString(CultureInfo.InvariantCulture),
        [LambdaEnvironment.FleetQueueGrowingHours] = (_, f, _) => f.Thresholds.QueueGrowing.TotalHours.ToString(CultureInfo.InvariantCulture),
        [LambdaEnvironment.FleetMinFreeDiskBytes] = (_, f, _) => f.Thresholds.MinFreeDiskBytes.ToString(CultureInfo.InvariantCulture),
        [LambdaEnvironment.ReviewTableName] = (_, _, b) => b?.Review.TableName,
        [LambdaEnvironment.AccountId] = (_, _, b) => b?.Review.AccountId,
        [LambdaEnvironment.MergeQueueUrl] = (_, _, b) => b?.MergeQueueUrl,
        [LambdaEnvironment.ReviewLabelersGroup] = (_, _, b) => b?.Review.LabelersGroup,
    };

    private JsonObject Raw(string env) => synth.Environments[env].RawTemplates[$"EdgeLabeling-{env}-Labeling"];

    private Dictionary<string, JsonObject> FunctionsByHandler(string env) =>
        SecurityRules.Resources(Raw(env), "AWS::Lambda::Function")
            .Where(f => f.Resource["Properties"]!["Handler"]?.GetValue<string>() is { } h && h.StartsWith(LambdaFunctions.HandlerAssembly + "::", StringComparison.Ordinal))
            .ToDictionary(f => f.Resource["Properties"]!["Handler"]!.GetValue<string>(), f => f.Resource["Properties"]!.AsObject(), StringComparer.Ordinal);

    // CloudFormation references become stable placeholder strings: the test cares that the runtime
    // reads the variable, not what the deployed value will be.
    private static Dictionary<string, string> Variables(JsonObject function) =>
        (function["Environment"]?["Variables"] as JsonObject ?? [])
            .ToDictionary(p => p.Key, p => SecurityRules.Flatten(p.Value), StringComparer.Ordinal);

    [Theory]
    [MemberData(nameof(Envs))]
    public void Functions_EachGetsExactlyTheVariablesItsContractLists(string env)
    {
        var config = synth.Environments[env].Config;
        var functions = FunctionsByHandler(env);

        var builtIn = config.Labeling.IsBuiltIn;
        Assert.Equal(LambdaFunctions.DeployedWith(builtIn).Select(f => f.Handler).Order(StringComparer.Ordinal), functions.Keys.Order(StringComparer.Ordinal));
        foreach (var contract in LambdaFunctions.DeployedWith(builtIn))
        {
            var expected = contract.RequiredFor(builtIn)
                .Concat(config.LambdaEnvironment.Keys.Where(k => contract.Optional.Contains(k, StringComparer.Ordinal)))
                .Order(StringComparer.Ordinal);
            Assert.Equal(expected, Variables(functions[contract.Handler]).Keys.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public void Contract_EveryRequiredVariableHasAReadBackCheck()
    {
        Assert.All(LambdaFunctions.All.SelectMany(f => f.Required.Concat(f.BuiltInRequired)), name => Assert.True(RequiredReadBack.ContainsKey(name), $"{name} has no read-back check"));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void Functions_EnvironmentIsReadByTheRuntimeWithoutFallingBackToDefaults(string env)
    {
        var config = synth.Environments[env].Config;
        var builtIn = config.Labeling.IsBuiltIn;
        foreach (var contract in LambdaFunctions.DeployedWith(builtIn))
        {
            var variables = Variables(FunctionsByHandler(env)[contract.Handler]);
            var reads = new HashSet<string>(StringComparer.Ordinal);
            string? Get(string name)
            {
                reads.Add(name);
                return name switch
                {
                    // What the Lambda runtime itself sets in the deployed function.
                    LambdaEnvironment.Region => config.Region,
                    LambdaEnvironment.LambdaFunctionName => contract.Name,
                    LambdaEnvironment.LambdaExecutionEnv => "AWS_Lambda_dotnet10",
                    _ => variables.GetValueOrDefault(name),
                };
            }

            // As on Lambda: the runtime variables are present, so the Lambda-only checks run too. The fleet
            // functions read their handlers' way: labeling options without the labeling stores, plus the fleet options.
            // The review functions read only the built-in backend's settings (ReviewApiFunction, ReviewSweepFunction);
            // the batch and merge functions read them too when the backend is builtin (LambdaComposition).
            var fleetFunction = LambdaFunctions.Fleet.Contains(contract);
            var reviewFunction = LambdaFunctions.Review.Contains(contract);
            var options = reviewFunction ? new LabelingOptions() : LabelingOptions.FromEnvironment(Get, labelingStoresRequired: !fleetFunction);
            var fleet = fleetFunction ? FleetOptions.FromEnvironment(Get) : new FleetOptions();
            var backend = reviewFunction || (builtIn && contract.BuiltInRequired.Count > 0) ? BuiltInBackendSettings.FromEnvironment(Get, publishes: reviewFunction) : null;

            Assert.All(variables.Keys, name => Assert.True(reads.Contains(name), $"{contract.Name} gets {name}, which the runtime never reads"));
            foreach (var name in contract.RequiredFor(builtIn))
            {
                Assert.Equal(variables[name], RequiredReadBack[name](options, fleet, backend));
            }

            if (contract == LambdaFunctions.Batch)
            {
                // The batcher's factory refuses to start without the team and the role: it must not throw.
                _ = new LabelingJobFactory(options);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void Functions_WithoutTableOrBucket_FailTheColdStartNamingTheVariable(string env)
    {
        var variables = Variables(FunctionsByHandler(env)[LambdaFunctions.Ingest.Handler]);
        foreach (var missing in new[] { LambdaEnvironment.TableName, LambdaEnvironment.DataBucket })
        {
            string? Get(string name) => name == missing ? null
                : name == LambdaEnvironment.LambdaFunctionName ? LambdaFunctions.Ingest.Name
                : name == LambdaEnvironment.Region ? synth.Environments[env].Config.Region
                : variables.GetValueOrDefault(name);

            var ex = Assert.Throws<InvalidOperationException>(() => LabelingOptions.FromEnvironment(Get));
            Assert.Contains(missing, ex.Message);
        }
    }

    [Fact]
    public void Handlers_ResolveToPublicStreamMethodsByReflection()
    {
        foreach (var contract in LambdaFunctions.All)
        {
            var (assemblyName, typeName, methodName) = contract.HandlerParts;
            var assembly = Assembly.Load(new AssemblyName(assemblyName));
            var type = assembly.GetType(typeName, throwOnError: false);
            Assert.True(type is not null, $"{contract.Handler}: type {typeName} not in {assemblyName}");

            // The managed runtime creates the handler class with its public parameterless constructor.
            Assert.NotNull(type!.GetConstructor(Type.EmptyTypes));
            var method = type.GetMethod(methodName, BindingFlags.Public | BindingFlags.Instance, [typeof(Stream)]);
            Assert.True(method is not null, $"{contract.Handler}: no public instance {methodName}(Stream)");
            Assert.Equal(typeof(Task<Stream>), method!.ReturnType);
        }
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void Alarms_WatchOnlyMetricsTheCoreEmits(string env)
    {
        var emitted = EmittedMetricNames();
        var alarms = SecurityRules.Resources(Raw(env), "AWS::CloudWatch::Alarm")
            .Select(a => a.Resource["Properties"]!)
            .Where(a => a["Namespace"]?.GetValue<string>() == LabelingMetricNames.Namespace)
            .Select(a => a["MetricName"]!.GetValue<string>())
            .ToList();

        Assert.NotEmpty(alarms);
        Assert.All(alarms, metric => Assert.True(emitted.Contains(metric), $"an alarm watches {metric}, which no Emit call in lambdas/ writes"));
    }

    [Fact]
    public void Core_EmitsMetricsOnlyThroughTheContractNames()
    {
        var literals = SourceFiles()
            .SelectMany(f => EmitLiteralRegex().Matches(File.ReadAllText(f)).Select(m => $"{Path.GetRelativePath(RepoPaths.Root, f)}: {m.Value}"))
            .ToList();

        Assert.Empty(literals);
    }

    /// <summary>Values of the <see cref="LabelingMetricNames"/> constants an Emit call (or a constant passed to one) uses.</summary>
    private static HashSet<string> EmittedMetricNames()
    {
        var referenced = SourceFiles()
            .SelectMany(f => ContractReferenceRegex().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);
        return new[] { typeof(LabelingMetricNames), typeof(FleetMetricNames) }.SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => f.IsLiteral && f.Name != nameof(LabelingMetricNames.Namespace) && !f.Name.EndsWith("Dimension", StringComparison.Ordinal) && referenced.Contains(f.Name))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToHashSet(StringComparer.Ordinal);
    }

    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "lambdas"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    [GeneratedRegex(@"\bEmit\(\s*""")]
    private static partial Regex EmitLiteralRegex();

    [GeneratedRegex(@"\b(?:LabelingMetricNames|FleetMetricNames)\.(\w+)")]
    private static partial Regex ContractReferenceRegex();
}
