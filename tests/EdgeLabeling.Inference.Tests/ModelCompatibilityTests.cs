using EdgeLabeling.Inference;

namespace EdgeLabeling.Inference.Tests;

/// <summary>What a new model must keep from the current one (signatures as the detector reads them from the graph).</summary>
public sealed class ModelCompatibilityTests
{
    private static readonly string[] Current = ["bolt", "nut", "washer"];
    private static readonly IReadOnlyDictionary<string, string> NoMap = new Dictionary<string, string>();

    private static ModelSignature Yolo(int classes, int size = 320, string input = "images", string output = "output0") =>
        new([new TensorSignature(input, "float32", 1, 3, size, size)], [new TensorSignature(output, "float32", 1, 4 + classes, 2100)]);

    private static CompatibilityReport Compare(ModelSignature candidate, string[] names, IReadOnlyDictionary<string, string>? map = null, string layout = "yolov8") =>
        ModelCompatibility.Compare(Yolo(3), Current, "yolov8", candidate, names, layout, map ?? NoMap);

    [Fact]
    public void Compare_SameSignatureAndClasses_IsCompatible()
    {
        var report = Compare(Yolo(3), ["bolt", "nut", "washer"]);

        Assert.True(report.Compatible);
        Assert.Empty(report.Notes);
    }

    [Fact]
    public void Compare_RenamedClass_NamesItAndTheMapThatWouldAllowIt()
    {
        var report = Compare(Yolo(3), ["bolt", "hex-nut", "washer"]);

        Assert.Equal(["class 1 'nut' is 'hex-nut' in the new model: if it was renamed on purpose, pass --class-map nut=hex-nut"], report.Problems);
    }

    [Fact]
    public void Compare_RenamedClassMapped_IsCompatibleWithANote()
    {
        var report = Compare(Yolo(3), ["bolt", "hex-nut", "washer"], new Dictionary<string, string> { ["nut"] = "hex-nut" });

        Assert.True(report.Compatible);
        Assert.Equal(["class 1 'nut' is now 'hex-nut' (--class-map)"], report.Notes);
    }

    [Fact]
    public void Compare_MapToAnotherName_SaysWhatTheMapPromisedAndWhatIsThere()
    {
        var report = Compare(Yolo(3), ["bolt", "hex-nut", "washer"], new Dictionary<string, string> { ["nut"] = "m8-nut" });

        Assert.Equal(["class 1 is 'hex-nut' in the new model, but --class-map says 'nut' becomes 'm8-nut'"], report.Problems);
    }

    [Fact]
    public void Compare_MapOfUnknownClass_IsAProblem()
    {
        var report = Compare(Yolo(3), ["bolt", "nut", "washer"], new Dictionary<string, string> { ["screw"] = "bolt" });

        Assert.Contains("--class-map names class 'screw', which the current model does not have (its classes: bolt, nut, washer)", report.Problems);
    }

    [Fact]
    public void Compare_AddedClassAtTheEnd_IsCompatibleAndOutputShapeMayGrow()
    {
        var report = Compare(Yolo(4), ["bolt", "nut", "washer", "screw"]);

        Assert.True(report.Compatible, string.Join("; ", report.Problems));
        Assert.Equal(["new class 'screw' (id 3)"], report.Notes);
    }

    [Fact]
    public void Compare_RemovedClass_NamesIt()
    {
        var report = Compare(Yolo(2), ["bolt", "nut"]);

        Assert.Equal(["class 2 'washer' is missing from the new model (it has 2 classes: bolt, nut)"], report.Problems);
    }

    [Fact]
    public void Compare_InputSizeNameAndLayoutChanged_ListsEveryProblem()
    {
        var resized = Compare(Yolo(3, size: 640), Current);
        var renamed = Compare(Yolo(3, input: "input"), Current);
        var relaid = Compare(Yolo(3), Current, layout: "yolov5");

        Assert.Equal(["input 'images' shape changed from [1,3,320,320] to [1,3,640,640]"], resized.Problems);
        Assert.Equal(["input names changed from [images] to [input]"], renamed.Problems);
        Assert.Equal(["output layout changed from yolov8 to yolov5"], relaid.Problems);
    }

    [Fact]
    public void Compare_SameClassCountButOtherOutputShape_IsAProblem()
    {
        var candidate = new ModelSignature([new TensorSignature("images", "float32", 1, 3, 320, 320)], [new TensorSignature("output0", "float32", 1, 7, 8400)]);

        var report = Compare(candidate, Current);

        Assert.Equal(["output 'output0' shape changed from [1,7,2100] to [1,7,8400]"], report.Problems);
    }

    [Theory]
    [InlineData("nut")]
    [InlineData("=nut")]
    [InlineData("nut=")]
    [InlineData("a=b=c")]
    public void ParseClassMap_MalformedEntry_NamesIt(string entry)
    {
        var ex = Assert.Throws<ArgumentException>(() => ModelCompatibility.ParseClassMap([entry]));

        Assert.Contains($"--class-map '{entry}' must be OLD=NEW", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseClassMap_SameClassTwice_IsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => ModelCompatibility.ParseClassMap(["nut=a", "nut=b"]));

        Assert.Contains("maps class 'nut' twice", ex.Message, StringComparison.Ordinal);
    }
}
