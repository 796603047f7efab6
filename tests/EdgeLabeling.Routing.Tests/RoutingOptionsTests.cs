namespace EdgeLabeling.Routing.Tests;

public class RoutingOptionsTests
{
    [Fact]
    public void Defaults_MatchTheDocumentedPolicy()
    {
        var o = new RoutingOptions().Validate();

        Assert.Equal(0.5, o.AutoAcceptThreshold);
        Assert.Equal(0.25, o.UncertainLow);
        Assert.Equal(NoDetectionsRule.HumanReview, o.NoDetections);
        Assert.Equal(100, o.MaxDetections);
        Assert.Equal(0.02, o.AuditRate);
        Assert.Equal(5, o.DuplicateMaxDistance);
        Assert.Equal(TimeSpan.FromMinutes(10), o.DuplicateWindow);
        Assert.Equal("parts", o.LabelAttributeName);
    }

    [Fact]
    public void Parse_FullConfig_ReadsEveryField()
    {
        const string json = """
            {
              // comments are allowed in config files
              "autoAcceptThreshold": 0.6,
              "classThresholds": { "nut": 0.7 },
              "uncertainLow": 0.2,
              "noDetections": "auto-label",
              "maxDetections": 50,
              "auditRate": 0.1,
              "auditSeed": 7,
              "duplicateDetection": false,
              "duplicateMaxDistance": 3,
              "duplicateWindowSeconds": 60,
              "duplicateCacheSize": 10,
              "labelAttributeName": "widgets",
              "deviceName": "site-7_cam",
              "sourceBucket": "edge-images",
            }
            """;

        var o = RoutingOptions.Parse(json);

        Assert.Equal(0.6, o.AutoAcceptThreshold);
        Assert.Equal(0.7, o.ClassThresholds["nut"]);
        Assert.Equal(0.2, o.UncertainLow);
        Assert.Equal(NoDetectionsRule.AutoLabel, o.NoDetections);
        Assert.Equal(50, o.MaxDetections);
        Assert.Equal(0.1, o.AuditRate);
        Assert.Equal(7, o.AuditSeed);
        Assert.False(o.DuplicateDetection);
        Assert.Equal(3, o.DuplicateMaxDistance);
        Assert.Equal(TimeSpan.FromSeconds(60), o.DuplicateWindow);
        Assert.Equal(10, o.DuplicateCacheSize);
        Assert.Equal("widgets", o.LabelAttributeName);
        Assert.Equal("site-7_cam", o.DeviceName);
        Assert.Equal("edge-images", o.SourceBucket);
    }

    [Fact]
    public void ToJson_ThenParse_RoundTrips()
    {
        var o = new RoutingOptions { AutoAcceptThreshold = 0.55, ClassThresholds = new Dictionary<string, double> { ["bolt"] = 0.9 }, NoDetections = NoDetectionsRule.AutoLabel };

        Assert.Equal(o, RoutingOptions.Parse(o.ToJson()));
        Assert.Contains("\"auto-label\"", o.ToJson());
    }

    [Fact]
    public void Parse_EmptyObject_GivesDefaults()
    {
        Assert.Equal(new RoutingOptions(), RoutingOptions.Parse("{}"));
    }

    [Theory]
    [InlineData("""{"autoAcceptThreshold": 1.5}""", "autoAcceptThreshold: 1.5")]
    [InlineData("""{"autoAcceptThreshold": -0.1}""", "autoAcceptThreshold: -0.1")]
    [InlineData("""{"autoAcceptThreshold": 0, "uncertainLow": 0}""", "autoAcceptThreshold: 0 is not in (0, 1]")]
    [InlineData("""{"uncertainLow": 0.7}""", "uncertainLow: 0.7 must be at least 0 and below autoAcceptThreshold (0.5)")]
    [InlineData("""{"uncertainLow": 0.5}""", "uncertainLow: 0.5 must be at least 0 and below autoAcceptThreshold (0.5)")]
    [InlineData("""{"classThresholds": {"nut": 2}}""", "classThresholds.nut: 2 is not in (0, 1]")]
    [InlineData("""{"classThresholds": {"nut": 0.1}}""", "classThresholds.nut: 0.1 must be above uncertainLow (0.25)")]
    [InlineData("""{"classThresholds": {"nut": 0.25}}""", "classThresholds.nut: 0.25 must be above uncertainLow (0.25)")]
    [InlineData("""{"classThresholds": {"a,b": 0.6}}""", "classThresholds: class name 'a,b' must not contain")]
    [InlineData("""{"labelAttributeName": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}""", "is too long for the attribute derived from it")]
    [InlineData("""{"maxDetections": 0}""", "maxDetections: 0 must be at least 1")]
    [InlineData("""{"auditRate": 1.01}""", "auditRate: 1.01")]
    [InlineData("""{"duplicateMaxDistance": 65}""", "duplicateMaxDistance: 65")]
    [InlineData("""{"duplicateWindowSeconds": -1}""", "duplicateWindowSeconds: -1")]
    [InlineData("""{"duplicateCacheSize": 0}""", "duplicateCacheSize: 0")]
    [InlineData("""{"labelAttributeName": "parts-metadata"}""", "labelAttributeName: label attribute name 'parts-metadata'")]
    [InlineData("""{"labelAttributeName": "parts-ref"}""", "labelAttributeName: label attribute name 'parts-ref'")]
    [InlineData("""{"deviceName": "bad name"}""", "deviceName: 'bad name'")]
    [InlineData("""{"sourceBucket": "Bad_Bucket"}""", "sourceBucket: 'Bad_Bucket'")]
    public void Parse_BadValue_NamesFieldAndValue(string json, string expected)
    {
        var ex = Assert.Throws<RoutingConfigException>(() => RoutingOptions.Parse(json, "site.json"));

        Assert.StartsWith("site.json: ", ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [Theory]
    [InlineData("""{"autoAcceptThresold": 0.6}""", "autoAcceptThresold")]
    [InlineData("""{"noDetections": "maybe"}""", "$.noDetections")]
    [InlineData("""{"maxDetections": "ten"}""", "$.maxDetections")]
    [InlineData("""{"autoAcceptThreshold": 0.6""", "invalid config")]
    public void Parse_MalformedOrUnknown_NamesThePlace(string json, string expected)
    {
        var ex = Assert.Throws<RoutingConfigException>(() => RoutingOptions.Parse(json, "site.json"));

        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Parse_JsonNull_ThrowsClearly()
    {
        var ex = Assert.Throws<RoutingConfigException>(() => RoutingOptions.Parse("null"));

        Assert.Contains("JSON null", ex.Message);
    }

    [Fact]
    public void Load_MissingFile_ThrowsNamingThePath()
    {
        using var dir = new TempDir();
        var path = dir.File("missing.json");

        var ex = Assert.Throws<RoutingConfigException>(() => RoutingOptions.Load(path));

        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Load_FileWithBadValue_PrefixesFileName()
    {
        using var dir = new TempDir();
        var path = dir.File("cfg.json");
        File.WriteAllText(path, """{"auditRate": 3}""");

        var ex = Assert.Throws<RoutingConfigException>(() => RoutingOptions.Load(path));

        Assert.Equal($"{Path.GetFileName(path)}: auditRate: 3 is not in [0, 1]", ex.Message);
    }
}
