using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.Tests.Support;

namespace EdgeLabeling.Labeling.Tests.Pending;

/// <summary>
/// Wire-level tests of the DynamoDB adapter: the real AmazonDynamoDBClient serializes each request,
/// and a recording HTTP handler answers the way DynamoDB does (including
/// ConditionalCheckFailedException). No DynamoDB server is involved, so these tests pin down the
/// requests (keys, condition and update expressions) and how responses are read, including index
/// states a strongly consistent test server never shows (stale heads after a claim). The server's
/// evaluation of the expressions is tested by the shared contract suite on a real DynamoDB-protocol
/// server (tests/EdgeLabeling.IntegrationTests/Pending, dynalite).
/// </summary>
public sealed class DynamoDbPendingStoreWireTests
{
    private const string Table = "edgelabel-pending";
    private const string ConditionFailed = """{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}""";

    private sealed class RecordingHandler(Func<string, JsonElement, (HttpStatusCode, string)> respond) : HttpMessageHandler
    {
        public List<(string Operation, JsonElement Body)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var target = request.Headers.GetValues("X-Amz-Target").Single();
            Assert.StartsWith("DynamoDB_20120810.", target, StringComparison.Ordinal);
            Assert.Contains("AWS4-HMAC-SHA256", request.Headers.GetValues("Authorization").Single(), StringComparison.Ordinal);
            var body = JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken)).RootElement.Clone();
            var op = target["DynamoDB_20120810.".Length..];
            Requests.Add((op, body));
            var (status, json) = respond(op, body);
            return new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/x-amz-json-1.0") };
        }
    }

    private sealed class HandlerFactory(HttpMessageHandler handler) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(handler, disposeHandler: false);

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => true;
    }

    private static (DynamoDbPendingStore Store, RecordingHandler Handler) Create(Func<string, JsonElement, (HttpStatusCode, string)> respond)
    {
        var handler = new RecordingHandler(respond);
        var config = new AmazonDynamoDBConfig
        {
            ServiceURL = "http://dynamodb.test.invalid",
            AuthenticationRegion = "eu-west-1",
            MaxErrorRetry = 0,
            HttpClientFactory = new HandlerFactory(handler),
        };
        var client = new AmazonDynamoDBClient(new BasicAWSCredentials("AKIDEXAMPLE", "secret"), config);
        return (new DynamoDbPendingStore(client, Table), handler);
    }

    private static string Str(JsonElement body, params string[] path)
    {
        var e = body;
        foreach (var p in path)
        {
            e = e.GetProperty(p);
        }

        return e.GetString()!;
    }

    [Fact]
    public async Task RegisterImageAsync_FirstHalf_SendsConditionalUpdateOnItemKey()
    {
        var (store, handler) = Create((_, _) => (HttpStatusCode.OK, """{"Attributes":{"pk":{"S":"ITEM#k"},"hasImage":{"BOOL":true}}}"""));

        var outcome = await store.RegisterImageAsync(new ImageArrival(Fixtures.ImageKey(1), Fixtures.Bucket, "t", Fixtures.Start));

        Assert.Equal(RegisterOutcome.HalfStored, outcome);
        var (op, body) = Assert.Single(handler.Requests);
        Assert.Equal("UpdateItem", op);
        Assert.Equal(Table, Str(body, "TableName"));
        Assert.Equal("ITEM#" + Fixtures.ImageKey(1), Str(body, "Key", "pk", "S"));
        Assert.Equal("attribute_not_exists(hasImage)", Str(body, "ConditionExpression"));
        Assert.Equal("ALL_NEW", Str(body, "ReturnValues"));
        Assert.Contains("if_not_exists(firstSeen, :now)", Str(body, "UpdateExpression"), StringComparison.Ordinal);
        Assert.Equal("HALF", Str(body, "ExpressionAttributeValues", ":hpk", "S"));
        // "bucket" is a DynamoDB reserved word; DynamoDB rejects an expression that names it directly.
        Assert.Equal("bucket", Str(body, "ExpressionAttributeNames", "#bk"));
        Assert.DoesNotContain(" bucket ", Str(body, "UpdateExpression"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegisterImageAsync_ConditionFails_IsDuplicate()
    {
        var (store, handler) = Create((_, _) => (HttpStatusCode.BadRequest, ConditionFailed));

        var outcome = await store.RegisterImageAsync(new ImageArrival(Fixtures.ImageKey(1), Fixtures.Bucket, "t", Fixtures.Start));

        Assert.Equal(RegisterOutcome.Duplicate, outcome);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task RegisterSidecarAsync_ImageSeen_PromotesToPendingConditionallyOnHalf()
    {
        var (store, handler) = Create((_, body) => body.GetProperty("ConditionExpression").GetString() == "#st = :half"
            ? (HttpStatusCode.OK, "{}")
            : (HttpStatusCode.OK, """{"Attributes":{"hasImage":{"BOOL":true},"hasSidecar":{"BOOL":true}}}"""));

        var outcome = await store.RegisterSidecarAsync(new SidecarArrival(Fixtures.ImageKey(1), Fixtures.Bucket, "t", PendingPayload.From(Fixtures.Review(1)), Fixtures.Start));

        Assert.Equal(RegisterOutcome.Completed, outcome);
        Assert.Equal(2, handler.Requests.Count);
        var first = handler.Requests[0].Body;
        Assert.Equal("attribute_not_exists(hasSidecar)", Str(first, "ConditionExpression"));
        Assert.Contains("payload = :p", Str(first, "UpdateExpression"), StringComparison.Ordinal);
        Assert.Contains("\"image-size\"", Str(first, "ExpressionAttributeValues", ":p", "S"), StringComparison.Ordinal);
        var promote = handler.Requests[1].Body;
        Assert.Equal("st", Str(promote, "ExpressionAttributeNames", "#st"));
        Assert.Equal("PENDING", Str(promote, "ExpressionAttributeValues", ":ppk", "S"));
        Assert.StartsWith("2026-11-26T06:00:00.0000000Z|incoming/", Str(promote, "ExpressionAttributeValues", ":sk", "S"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClaimAsync_OneUpdateLosesTheRace_ReturnsOnlyWonItems()
    {
        var updates = 0;
        var (store, handler) = Create((op, body) => op switch
        {
            "Query" => (HttpStatusCode.OK, """{"Count":2,"Items":[{"pk":{"S":"ITEM#a"},"gsi1pk":{"S":"PENDING"},"gsi1sk":{"S":"x"}},{"pk":{"S":"ITEM#b"},"gsi1pk":{"S":"PENDING"},"gsi1sk":{"S":"y"}}]}"""),
            _ => ++updates == 1
                ? (HttpStatusCode.OK, """{"Attributes":{"imageKey":{"S":"a"},"bucket":{"S":"bk"},"thing":{"S":"t"},"st":{"S":"claimed"},"hasImage":{"BOOL":true},"hasSidecar":{"BOOL":true},"itemBatchId":{"S":"b1"},"firstSeen":{"S":"2026-11-26T06:00:00.0000000Z"},"pendingSince":{"S":"2026-11-26T06:00:00.0000000Z"}}}""")
                : (HttpStatusCode.BadRequest, ConditionFailed),
        });

        var claimed = await store.ClaimAsync("b1", 10);

        var item = Assert.Single(claimed);
        Assert.Equal("a", item.ImageKey);
        Assert.Equal(PendingStatus.Claimed, item.Status);
        var query = handler.Requests[0].Body;
        Assert.Equal(DynamoDbPendingStore.StatusIndex, Str(query, "IndexName"));
        Assert.Equal("gsi1pk = :p", Str(query, "KeyConditionExpression"));
        var update = handler.Requests[1].Body;
        Assert.Equal("ITEM#a", Str(update, "Key", "pk", "S"));
        Assert.Equal("#st = :pending", Str(update, "ConditionExpression"));
        Assert.Equal("SET #st = :claimed, itemBatchId = :b REMOVE gsi1pk, gsi1sk", Str(update, "UpdateExpression"));
        Assert.Equal("b1", Str(update, "ExpressionAttributeValues", ":b", "S"));
    }

    [Fact]
    public async Task TryReserveBudgetAsync_SendsConditionalAddWithPrecomputedCeiling()
    {
        var (store, handler) = Create((_, _) => (HttpStatusCode.OK, "{}"));

        Assert.True(await store.TryReserveBudgetAsync("2026-11", 40, 10, 0.80m, 5.00m));

        var body = Assert.Single(handler.Requests).Body;
        Assert.Equal("BUDGET#2026-11", Str(body, "Key", "pk", "S"));
        Assert.Equal("ADD objects :n, spentUsd :u", Str(body, "UpdateExpression"));
        Assert.Equal("objects = :exp AND spentUsd <= :maxBefore", Str(body, "ConditionExpression"));
        Assert.Equal("4.20", Str(body, "ExpressionAttributeValues", ":maxBefore", "N"));
        Assert.Equal("40", Str(body, "ExpressionAttributeValues", ":exp", "N"));
    }

    [Fact]
    public async Task TryReserveBudgetAsync_FirstReservationOfMonth_AllowsMissingCounter()
    {
        var (store, handler) = Create((_, _) => (HttpStatusCode.BadRequest, ConditionFailed));

        Assert.False(await store.TryReserveBudgetAsync("2026-12", 0, 10, 0.80m, 5.00m));

        Assert.StartsWith("attribute_not_exists(objects) OR", Str(handler.Requests[0].Body, "ConditionExpression"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TryCreateBatchAsync_ExistingName_ReturnsFalse()
    {
        var (store, handler) = Create((_, _) => (HttpStatusCode.BadRequest, ConditionFailed));

        var created = await store.TryCreateBatchAsync(new BatchRecord("b1", "edgelabel-b1", BatchStatus.Claimed, Fixtures.Start, 0, "2026-11", 0m));

        Assert.False(created);
        var (op, body) = Assert.Single(handler.Requests);
        Assert.Equal("PutItem", op);
        Assert.Equal("attribute_not_exists(pk)", Str(body, "ConditionExpression"));
        Assert.Equal("JOB#edgelabel-b1", Str(body, "Item", "pk", "S"));
        Assert.Equal("BATCH#Claimed", Str(body, "Item", "gsi1pk", "S"));
    }

    [Fact]
    public async Task ReleaseAsync_IsConditionalOnBatchAndRestoresPendingSortKey()
    {
        var (store, handler) = Create((_, _) => (HttpStatusCode.OK, "{}"));

        Assert.Equal(2, await store.ReleaseAsync("b1", ["a", "b"]));

        Assert.All(handler.Requests, r =>
        {
            Assert.Equal("#st = :claimed AND itemBatchId = :b", Str(r.Body, "ConditionExpression"));
            Assert.Equal("SET #st = :pending, gsi1pk = :ppk, gsi1sk = pendingSk REMOVE itemBatchId", Str(r.Body, "UpdateExpression"));
        });
    }

    private const string PendingItemA = """{"Item":{"st":{"S":"pending"},"pendingSince":{"S":"2026-11-26T05:00:00.0000000Z"}}}""";

    [Fact]
    public async Task GetPendingSummaryAsync_CountsThenReadsConfirmedOldest()
    {
        var (store, handler) = Create((op, body) => (op, body.TryGetProperty("Select", out JsonElement _)) switch
        {
            ("Query", true) => (HttpStatusCode.OK, """{"Count":3,"Items":[]}"""),
            ("Query", false) => (HttpStatusCode.OK, """{"Count":1,"Items":[{"pk":{"S":"ITEM#a"},"gsi1pk":{"S":"PENDING"},"gsi1sk":{"S":"2026-11-26T05:00:00.0000000Z|a"}}]}"""),
            _ => (HttpStatusCode.OK, PendingItemA),
        });

        var summary = await store.GetPendingSummaryAsync();

        Assert.Equal(3, summary.Count);
        Assert.Equal(Fixtures.Start.AddHours(-1), summary.OldestPendingSince);
        Assert.Equal(["Query", "Query", "GetItem"], handler.Requests.Select(r => r.Operation));
        Assert.Equal("COUNT", Str(handler.Requests[0].Body, "Select"));
        Assert.True(handler.Requests[1].Body.GetProperty("ScanIndexForward").GetBoolean());
    }

    [Fact]
    public async Task GetPendingSummaryAsync_CountIsZero_SkipsTheOldestLookup()
    {
        var (store, handler) = Create((_, _) => (HttpStatusCode.OK, """{"Count":0,"Items":[]}"""));

        var summary = await store.GetPendingSummaryAsync();

        Assert.Equal(new PendingSummary(0, null), summary);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task GetOldestPendingSinceAsync_NothingPending_ReturnsNullAfterOneIndexQuery()
    {
        var (store, handler) = Create((_, _) => (HttpStatusCode.OK, """{"Count":0,"Items":[]}"""));

        Assert.Null(await store.GetOldestPendingSinceAsync());

        var (op, body) = Assert.Single(handler.Requests);
        Assert.Equal("Query", op);
        Assert.Equal(DynamoDbPendingStore.StatusIndex, Str(body, "IndexName"));
        Assert.Equal("gsi1pk = :p", Str(body, "KeyConditionExpression"));
        Assert.Equal("PENDING", Str(body, "ExpressionAttributeValues", ":p", "S"));
        Assert.True(body.GetProperty("ScanIndexForward").GetBoolean());
        Assert.InRange(body.GetProperty("Limit").GetInt32(), 1, 100);
    }

    [Fact]
    public async Task GetOldestPendingSinceAsync_IndexHeadAlreadyClaimed_SkipsItAcrossPagesToAConfirmedPendingItem()
    {
        // The index still lists "a" (claimed a moment ago) on the first page; "b" on the next page is really pending.
        var (store, handler) = Create((op, body) => op switch
        {
            "Query" when !body.TryGetProperty("ExclusiveStartKey", out JsonElement _) =>
                (HttpStatusCode.OK, """{"Count":1,"Items":[{"pk":{"S":"ITEM#a"},"gsi1pk":{"S":"PENDING"},"gsi1sk":{"S":"2026-11-26T04:00:00.0000000Z|a"}}],"LastEvaluatedKey":{"pk":{"S":"ITEM#a"},"gsi1pk":{"S":"PENDING"},"gsi1sk":{"S":"2026-11-26T04:00:00.0000000Z|a"}}}"""),
            "Query" => (HttpStatusCode.OK, """{"Count":1,"Items":[{"pk":{"S":"ITEM#b"},"gsi1pk":{"S":"PENDING"},"gsi1sk":{"S":"2026-11-26T05:00:00.0000000Z|b"}}]}"""),
            _ when Str(body, "Key", "pk", "S") == "ITEM#a" => (HttpStatusCode.OK, """{"Item":{"st":{"S":"claimed"},"pendingSince":{"S":"2026-11-26T04:00:00.0000000Z"}}}"""),
            _ => (HttpStatusCode.OK, PendingItemA),
        });

        var oldest = await store.GetOldestPendingSinceAsync();

        Assert.Equal(Fixtures.Start.AddHours(-1), oldest);
        Assert.Equal(["Query", "GetItem", "Query", "GetItem"], handler.Requests.Select(r => r.Operation));
        Assert.Equal("ITEM#a", Str(handler.Requests[2].Body, "ExclusiveStartKey", "pk", "S"));
        foreach (var get in handler.Requests.Where(r => r.Operation == "GetItem").Select(r => r.Body))
        {
            Assert.True(get.GetProperty("ConsistentRead").GetBoolean());
            Assert.Equal(Table, Str(get, "TableName"));
            Assert.Equal("#st, pendingSince", Str(get, "ProjectionExpression"));
        }
    }

    [Fact]
    public async Task ClaimAsync_IndexPageHoldsOnlyStaleEntries_PagesOnToFillTheBatch()
    {
        // The first page still lists "a", claimed by another batcher a moment ago; "b" on the next page is pending.
        var (store, handler) = Create((op, body) => op switch
        {
            "Query" when !body.TryGetProperty("ExclusiveStartKey", out JsonElement _) =>
                (HttpStatusCode.OK, """{"Count":1,"Items":[{"pk":{"S":"ITEM#a"},"gsi1pk":{"S":"PENDING"},"gsi1sk":{"S":"x|a"}}],"LastEvaluatedKey":{"pk":{"S":"ITEM#a"},"gsi1pk":{"S":"PENDING"},"gsi1sk":{"S":"x|a"}}}"""),
            "Query" => (HttpStatusCode.OK, """{"Count":1,"Items":[{"pk":{"S":"ITEM#b"},"gsi1pk":{"S":"PENDING"},"gsi1sk":{"S":"y|b"}}]}"""),
            _ when Str(body, "Key", "pk", "S") == "ITEM#a" => (HttpStatusCode.BadRequest, ConditionFailed),
            _ => (HttpStatusCode.OK, """{"Attributes":{"imageKey":{"S":"b"},"bucket":{"S":"bk"},"thing":{"S":"t"},"st":{"S":"claimed"},"hasImage":{"BOOL":true},"hasSidecar":{"BOOL":true},"itemBatchId":{"S":"b1"},"firstSeen":{"S":"2026-11-26T06:00:00.0000000Z"},"pendingSince":{"S":"2026-11-26T06:00:00.0000000Z"}}}"""),
        });

        var claimed = await store.ClaimAsync("b1", 1);

        Assert.Equal("b", Assert.Single(claimed).ImageKey);
        Assert.Equal(["Query", "UpdateItem", "Query", "UpdateItem"], handler.Requests.Select(r => r.Operation));
        Assert.Equal(1, handler.Requests[0].Body.GetProperty("Limit").GetInt32());
        Assert.Equal("ITEM#a", Str(handler.Requests[2].Body, "ExclusiveStartKey", "pk", "S"));
    }

    [Fact]
    public async Task ClaimAsync_ZeroMax_SendsNothing()
    {
        var (store, handler) = Create((_, _) => (HttpStatusCode.OK, "{}"));

        Assert.Empty(await store.ClaimAsync("b1", 0));
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task RefundBudgetAsync_CounterCoversIt_SendsOneConditionalAdd()
    {
        var (store, handler) = Create((_, _) => (HttpStatusCode.OK, "{}"));

        await store.RefundBudgetAsync("2026-11", 3, 0.24m);

        var (op, body) = Assert.Single(handler.Requests);
        Assert.Equal("UpdateItem", op);
        Assert.Equal("BUDGET#2026-11", Str(body, "Key", "pk", "S"));
        Assert.Equal("ADD objects :n, spentUsd :u", Str(body, "UpdateExpression"));
        Assert.Equal("objects >= :on AND spentUsd >= :ou", Str(body, "ConditionExpression"));
        Assert.Equal("-3", Str(body, "ExpressionAttributeValues", ":n", "N"));
        Assert.Equal("-0.24", Str(body, "ExpressionAttributeValues", ":u", "N"));
    }

    [Fact]
    public async Task RefundBudgetAsync_MoreThanTheCounter_SetsItToZeroConditionalOnWhatWasRead()
    {
        var (store, handler) = Create((op, body) => op switch
        {
            "GetItem" => (HttpStatusCode.OK, """{"Item":{"pk":{"S":"BUDGET#2026-11"},"objects":{"N":"2"},"spentUsd":{"N":"0.16"}}}"""),
            _ when body.TryGetProperty("UpdateExpression", out var u) && u.GetString()!.StartsWith("ADD", StringComparison.Ordinal) => (HttpStatusCode.BadRequest, ConditionFailed),
            _ => (HttpStatusCode.OK, "{}"),
        });

        await store.RefundBudgetAsync("2026-11", 3, 0.24m);

        Assert.Equal(["UpdateItem", "GetItem", "UpdateItem"], handler.Requests.Select(r => r.Operation));
        var set = handler.Requests[2].Body;
        Assert.Equal("objects = :oo AND spentUsd = :ou", Str(set, "ConditionExpression"));
        Assert.Equal(("0", "0", "2", "0.16"), (
            Str(set, "ExpressionAttributeValues", ":no", "N"), Str(set, "ExpressionAttributeValues", ":nu", "N"),
            Str(set, "ExpressionAttributeValues", ":oo", "N"), Str(set, "ExpressionAttributeValues", ":ou", "N")));
    }

    [Fact]
    public async Task GetOldestPendingSinceAsync_IndexEntryWithoutKey_FailsNamingTheIndex()
    {
        var (store, _) = Create((_, _) => (HttpStatusCode.OK, """{"Count":1,"Items":[{"gsi1pk":{"S":"PENDING"}}]}"""));

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => store.GetOldestPendingSinceAsync());

        Assert.Contains("gsi1", ex.Message, StringComparison.Ordinal);
    }
}
