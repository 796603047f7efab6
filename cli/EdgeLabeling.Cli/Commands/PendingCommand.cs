using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Pending;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel pending --stuck | --requeue KEY... | --requeue-all | --requeue --model-sha SHA [--config FILE] [--max N] [--json]</c>:
/// the operator's view of items set aside because they came back from Ground Truth without a label too
/// often (SET_ASIDE_AFTER_RETURNS, default 3). <c>--stuck</c> lists them with their return count and last
/// reason; <c>--requeue</c> puts the named ones (image keys as listed) back into the pending pool with their
/// count reset. <c>--requeue --model-sha SHA</c> sends the automatic labels of a bad model version (found through the
/// dataset's provenance) back to people (<see cref="ModelRequeue"/>). The store is the one the Lambdas use (TABLE_NAME →
/// DynamoDB, else PENDING_DB_PATH).
/// Exit codes: 0 done, 1 some keys were not set aside or some automatic labels could not be requeued (named with the
/// reason), 2 bad input or store unreachable.
/// </summary>
internal static class PendingCommand
{
    public static Command Create()
    {
        var stuck = new Option<bool>("--stuck") { Description = "List the items set aside (came back unlabeled too often), longest set aside first." };
        var requeue = new Option<string[]>("--requeue")
        {
            Description = "Put these set-aside items (image keys as --stuck lists them) back into the pending pool, their return count reset.",
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.ZeroOrMore,
        };
        var modelSha = new Option<string?>("--model-sha")
        {
            Description = "With --requeue and no keys: send every automatic label of this model (SHA-256, at least 8 hex digits) that no person has answered back to people.",
        };
        var requeueAll = new Option<bool>("--requeue-all") { Description = "Put every set-aside item back into the pending pool." };
        var config = new Option<FileInfo?>("--config", "-c")
        {
            Description = "JSON object of the Lambda environment variables (TABLE_NAME or PENDING_DB_PATH, AWS_REGION, DYNAMODB_ENDPOINT, ...). Without it the process environment is used.",
        };
        var max = new Option<int>("--max") { Description = "List or re-queue at most this many items.", DefaultValueFactory = _ => 1000 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("pending", "List items set aside after coming back unlabeled too often (--stuck) and put them back into the pending pool (--requeue).")
        {
            stuck, requeue, modelSha, requeueAll, config, max, json,
        };
        command.SetAction((parse, ct) =>
        {
            var sha = parse.GetValue(modelSha);
            var keys = parse.GetValue(requeue) ?? [];
            if (sha is not null)
            {
                return parse.GetResult(requeue) is null || keys.Length > 0 || parse.GetValue(stuck) || parse.GetValue(requeueAll)
                    ? Task.FromResult(CliErrors.Fail("pending", "--model-sha goes with --requeue and no image keys: --requeue --model-sha SHA", 2))
                    : RequeueModelAsync(sha, parse.GetValue(config), parse.GetValue(max), parse.GetValue(json), ct);
            }

            if (parse.GetResult(requeue) is not null && keys.Length == 0)
            {
                return Task.FromResult(CliErrors.Fail("pending", "--requeue needs image keys (as --stuck lists them), or --model-sha SHA", 2));
            }

            return RunAsync(parse.GetValue(stuck), keys, parse.GetValue(requeueAll), parse.GetValue(config), parse.GetValue(max), parse.GetValue(json), ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(bool stuck, string[] requeue, bool requeueAll, FileInfo? configFile, int max, bool json, CancellationToken ct)
    {
        var modes = (stuck ? 1 : 0) + (requeue.Length > 0 ? 1 : 0) + (requeueAll ? 1 : 0);
        if (modes != 1)
        {
            return CliErrors.Fail("pending", "give exactly one of --stuck, --requeue KEY... or --requeue-all", 2);
        }

        var (options, refusal) = CheckMaxAndLoadOptions(max, configFile);
        if (options is null)
        {
            return refusal;
        }

        try
        {
            await using var provider = new ServiceCollection().AddSingleton<ILabelingMetrics>(NullLabelingMetrics.Instance).AddLabeling(options).BuildServiceProvider();
            var store = provider.GetRequiredService<IPendingItemStore>();
            if (stuck)
            {
                var items = await store.ListSetAsideAsync(max, ct).ConfigureAwait(false);
                Print(items, json);
                return 0;
            }

            var keys = requeueAll ? (await store.ListSetAsideAsync(max, ct).ConfigureAwait(false)).Select(i => i.ImageKey).ToList() : requeue.Distinct(StringComparer.Ordinal).Take(max).ToList();
            var refused = new List<(string Key, string Why)>();
            var wanted = new List<string>();
            foreach (var key in keys)
            {
                var item = await store.GetItemAsync(key, ct).ConfigureAwait(false);
                if (item is { Status: PendingStatus.SetAside })
                {
                    wanted.Add(key);
                }
                else
                {
                    refused.Add((key, item is null ? "no such item in the pending store" : $"is {item.Status.ToString().ToLowerInvariant()}, not set aside"));
                }
            }

            var moved = await store.RequeueSetAsideAsync(wanted, ct).ConfigureAwait(false);
            if (json)
            {
                using var w = new Utf8JsonWriter(System.Console.OpenStandardOutput(), new JsonWriterOptions { Indented = true });
                w.WriteStartObject();
                w.WriteNumber("requeued", moved);
                w.WriteStartArray("notSetAside");
                foreach (var (key, why) in refused)
                {
                    w.WriteStartObject();
                    w.WriteString("imageKey", key);
                    w.WriteString("reason", why);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
                w.Flush();
                System.Console.Out.WriteLine();
            }
            else
            {
                AnsiConsole.MarkupLine($"{moved} item(s) back in the pending pool.");
            }

            foreach (var (key, why) in refused)
            {
                CliErrors.Fail("pending", $"{key} {why}", 1);
            }

            return refused.Count > 0 ? 1 : 0;
        }
        catch (Exception ex) when (ex is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or Microsoft.Data.Sqlite.SqliteException or HttpRequestException or IOException)
        {
            return CliErrors.Fail("pending", $"the pending store could not be read: {ex.Message}", 2);
        }
    }

    /// <summary>What every mode checks first: <c>--max</c>, then the labeling config; an exit code when either is refused.</summary>
    private static (LabelingOptions? Options, int Refusal) CheckMaxAndLoadOptions(int max, FileInfo? configFile)
    {
        if (max < 1)
        {
            return (null, CliErrors.Fail("pending", $"--max must be at least 1, is {max}", 2));
        }

        try
        {
            return (BatchCommand.LoadOptions(configFile, null), 0);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or JsonException)
        {
            return (null, CliErrors.Fail("pending", ex.Message, 2));
        }
    }

    private static async Task<int> RequeueModelAsync(string sha, FileInfo? configFile, int max, bool json, CancellationToken ct)
    {
        var (options, refusal) = CheckMaxAndLoadOptions(max, configFile);
        if (options is null)
        {
            return refusal;
        }

        RequeueResult result;
        try
        {
            await using var provider = new ServiceCollection().AddSingleton<ILabelingMetrics>(NullLabelingMetrics.Instance).AddLabeling(options).BuildServiceProvider();
            var requeue = new ModelRequeue(provider.GetRequiredService<EdgeLabeling.Storage.IObjectStore>(), provider.GetRequiredService<IPendingItemStore>(),
                provider.GetRequiredService<EdgeLabeling.Labeling.Merge.MergeOptions>(), options, provider.GetRequiredService<TimeProvider>());
            result = await requeue.RequeueAsync(sha, max, ct).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            return CliErrors.Fail("pending", ex.Message, 2);
        }
        catch (Exception ex) when (ex is FileNotFoundException or JsonException)
        {
            return CliErrors.Fail("pending", ex.Message, 2);
        }
        catch (Exception ex) when (ex is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or Microsoft.Data.Sqlite.SqliteException or HttpRequestException or IOException)
        {
            return CliErrors.Fail("pending", $"the dataset or the pending store could not be read: {ex.Message}", 2);
        }

        if (json)
        {
            using var w = new Utf8JsonWriter(System.Console.OpenStandardOutput(), new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("model", result.Model);
            w.WriteNumber("autoLabels", result.AutoLabels);
            w.WriteNumber("requeued", result.Requeued);
            w.WriteNumber("alreadyQueued", result.AlreadyQueued);
            w.WriteStartArray("notRequeued");
            foreach (var r in result.Refused)
            {
                w.WriteStartObject();
                w.WriteString("sourceRef", r.SourceRef);
                w.WriteString("reason", r.Reason);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.Flush();
            System.Console.Out.WriteLine();
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated($"Model {result.Model[..Math.Min(12, result.Model.Length)]}: {result.AutoLabels} automatic label(s) no person has answered; {result.Requeued} requeued for review now, {result.AlreadyQueued} already in the pending store, {result.Refused.Count} could not be requeued.");
            foreach (var group in result.Refused.GroupBy(r => r.Reason, StringComparer.Ordinal))
            {
                AnsiConsole.MarkupLineInterpolated($"  {group.Count()} × {group.Key} (e.g. {group.First().SourceRef})");
            }
        }

        return result.Refused.Count > 0 ? 1 : 0;
    }

    private static void Print(IReadOnlyList<PendingItem> items, bool json)
    {
        if (json)
        {
            using var w = new Utf8JsonWriter(System.Console.OpenStandardOutput(), new JsonWriterOptions { Indented = true });
            w.WriteStartArray();
            foreach (var i in items)
            {
                w.WriteStartObject();
                w.WriteString("imageKey", i.ImageKey);
                w.WriteString("sourceRef", i.SourceRef);
                w.WriteString("thing", i.ThingName);
                w.WriteNumber("returns", i.ReturnCount);
                w.WriteString("reason", i.LastReturnReason);
                if (i.SetAsideAt is { } at)
                {
                    w.WriteString("setAsideAt", at);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.Flush();
            System.Console.Out.WriteLine();
            return;
        }

        if (items.Count == 0)
        {
            AnsiConsole.MarkupLine("No items are set aside.");
            return;
        }

        var table = new Table().AddColumns("image key", "device", "returns", "last reason", "set aside at");
        foreach (var i in items)
        {
            table.AddRow(Markup.Escape(i.ImageKey), Markup.Escape(i.ThingName), i.ReturnCount.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(i.LastReturnReason ?? ""), i.SetAsideAt?.ToString("u", CultureInfo.InvariantCulture) ?? "");
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{items.Count} item(s) set aside; `edgelabel pending --requeue KEY...` puts them back.");
    }
}
