using System.Text.Json.Nodes;
using Amazon.DynamoDBv2.Model;
using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.Infra.Tests;

/// <summary>
/// The deployed pending table and the one the DynamoDB adapter is tested against (integration tests create
/// theirs from <see cref="DynamoDbPendingStore.TableDefinition"/>) must be the same table: same key
/// schema, same attribute definitions, same indexes and projections.
/// </summary>
[Collection(SynthCollection.Name)]
public sealed class PendingTableSchemaTests(SynthFixture synth)
{
    public static TheoryData<string> Envs => new(SynthFixture.EnvironmentNames);

    [Theory]
    [MemberData(nameof(Envs))]
    public void PendingItemsTable_Synthesized_MatchesTheAdaptersTableDefinition(string env)
    {
        var props = synth.Environments[env].RawTemplates[$"EdgeLabeling-{env}-Storage"]["Resources"]!["PendingItemsTable"]!["Properties"]!;
        var expected = DynamoDbPendingStore.TableDefinition("any");

        Assert.Equal(Keys(expected.KeySchema), Keys(props["KeySchema"]!));
        Assert.Equal(
            expected.AttributeDefinitions.Select(a => $"{a.AttributeName}:{a.AttributeType.Value}").Order(StringComparer.Ordinal),
            props["AttributeDefinitions"]!.AsArray().Select(a => $"{a!["AttributeName"]}:{a["AttributeType"]}").Order(StringComparer.Ordinal));
        Assert.Equal(
            expected.GlobalSecondaryIndexes.Select(i => $"{i.IndexName} {Keys(i.KeySchema)} {i.Projection.ProjectionType.Value}").Order(StringComparer.Ordinal),
            props["GlobalSecondaryIndexes"]!.AsArray().Select(i => $"{i!["IndexName"]} {Keys(i["KeySchema"]!)} {i["Projection"]!["ProjectionType"]}").Order(StringComparer.Ordinal));
        Assert.All(props["GlobalSecondaryIndexes"]!.AsArray(), i => Assert.Null(i!["Projection"]!["NonKeyAttributes"]));
        Assert.Equal(expected.BillingMode.Value, props["BillingMode"]!.GetValue<string>());
    }

    private static string Keys(List<KeySchemaElement> keys) => string.Join(",", keys.Select(k => $"{k.AttributeName}:{k.KeyType.Value}"));

    private static string Keys(JsonNode keys) => string.Join(",", keys.AsArray().Select(k => $"{k!["AttributeName"]}:{k["KeyType"]}"));
}
