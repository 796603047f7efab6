namespace EdgeLabeling.Inference.Tests;

public class OutputDecoderTests
{
    /// <summary>Builds a [1, 4+C, N] YOLOv8 tensor from per-anchor rows (cx, cy, w, h, scores...).</summary>
    private static float[] V8(params float[][] anchors)
    {
        var channels = anchors[0].Length;
        var n = anchors.Length;
        var data = new float[channels * n];
        for (var a = 0; a < n; a++)
        {
            for (var ch = 0; ch < channels; ch++)
            {
                data[ch * n + a] = anchors[a][ch];
            }
        }

        return data;
    }

    [Fact]
    public void YoloV8Decode_OneAnchor_ConvertsCenterFormAndPicksBestClass()
    {
        var decoder = new YoloV8Decoder("output0", 3, 2);
        var into = new List<Candidate>();
        decoder.Decode([V8([50, 40, 20, 10, 0.1f, 0.8f, 0.3f], [0, 0, 0, 0, 0.01f, 0.02f, 0.03f])], 0.05f, into);
        var c = Assert.Single(into);
        Assert.Equal(new Candidate(1, 40, 35, 60, 45, 0.8f), c);
    }

    [Fact]
    public void YoloV8Decode_NaNInfAndEmptyBoxes_AreSkipped()
    {
        var decoder = new YoloV8Decoder("output0", 2, 5);
        var into = new List<Candidate>();
        decoder.Decode([V8(
            [10, 10, 4, 4, float.NaN, float.NaN],
            [10, 10, 4, 4, float.PositiveInfinity, 0.1f],
            [float.NaN, 10, 4, 4, 0.9f, 0.1f],
            [10, 10, 0, 4, 0.9f, 0.1f],
            [10, 10, -3, 4, 0.9f, 0.1f])], 0.05f, into);
        Assert.Empty(into);
    }

    [Fact]
    public void YoloV8Decode_NaNInAnyClassScore_SkipsTheWholeAnchor()
    {
        var decoder = new YoloV8Decoder("output0", 2, 2);
        var into = new List<Candidate>();
        decoder.Decode([V8([10, 10, 4, 4, float.NaN, 0.7f], [10, 10, 4, 4, 0.7f, float.NaN])], 0.05f, into);
        Assert.Empty(into);
    }

    [Fact]
    public void YoloV5Decode_NaNObjectnessOrClassScore_SkipsTheRow()
    {
        var decoder = new YoloV5Decoder("output", 2, 3);
        var into = new List<Candidate>();
        decoder.Decode([[30, 30, 10, 20, float.NaN, 0.9f, 0.9f, 30, 30, 10, 20, 0.9f, float.NaN, 0.9f, 30, 30, 10, 20, 0.9f, 0.9f, float.PositiveInfinity]], 0.05f, into);
        Assert.Empty(into);
    }

    [Fact]
    public void YoloV8Decode_ScoreBelowFloor_IsSkipped()
    {
        var decoder = new YoloV8Decoder("output0", 1, 2);
        var into = new List<Candidate>();
        decoder.Decode([V8([10, 10, 4, 4, 0.049f], [10, 10, 4, 4, 0.05f])], 0.05f, into);
        Assert.Equal(0.05f, Assert.Single(into).Score);
    }

    [Fact]
    public void YoloV5Decode_MultipliesObjectnessByClassScore()
    {
        var decoder = new YoloV5Decoder("output", 2, 2);
        var into = new List<Candidate>();
        decoder.Decode([[30, 30, 10, 20, 0.5f, 0.2f, 0.9f, /* row 2 */ 30, 30, 10, 20, 0.04f, 1f, 1f]], 0.05f, into);
        var c = Assert.Single(into);
        Assert.Equal(1, c.ClassId);
        Assert.Equal(0.45f, c.Score, 6);
        Assert.Equal((25f, 20f, 35f, 40f), (c.X1, c.Y1, c.X2, c.Y2));
    }

    [Fact]
    public void YoloV5Decode_ProductBelowFloor_IsSkipped()
    {
        var decoder = new YoloV5Decoder("output", 1, 1);
        var into = new List<Candidate>();
        decoder.Decode([[30, 30, 10, 20, 0.2f, 0.2f]], 0.05f, into);
        Assert.Empty(into);
    }

    [Fact]
    public void SsdDecode_NormalizedYxBoxesAndOneBasedClasses_AreConverted()
    {
        var decoder = new SsdDecoder("detection_boxes", "detection_scores", "detection_classes", "num_detections", 3, 100, 50);
        var into = new List<Candidate>();
        decoder.Decode([
            [0.1f, 0.2f, 0.5f, 0.6f, 0, 0, 1, 1, 0, 0, 1, 1],
            [0.9f, 0.3f, 0.8f],
            [2f, 1f, 1f],
            [2f],
        ], 0.05f, into);
        Assert.Equal(2, into.Count);
        var c = into[0];
        Assert.Equal((1, 0.9f), (c.ClassId, c.Score));
        Assert.Equal([20f, 5f, 60f, 25f], new[] { c.X1, c.Y1, c.X2, c.Y2 }, (a, b) => Math.Abs(a - b) < 1e-4f);
        Assert.Equal(0, into[1].ClassId);
    }

    [Fact]
    public void SsdDecode_BackgroundClassAndGarbageCount_AreHandled()
    {
        var decoder = new SsdDecoder("b", "s", "c", "n", 2, 10, 10);
        var into = new List<Candidate>();
        decoder.Decode([[0, 0, 1, 1, 0, 0, 1, 1], [0.9f, 0.9f], [0f, 1f], [float.NaN]], 0.05f, into);
        Assert.Empty(into);
        decoder.Decode([[0, 0, 1, 1, 0, 0, 1, 1], [0.9f, 0.9f], [0f, 1f], [1e9f]], 0.05f, into);
        Assert.Equal(0, Assert.Single(into).ClassId);
    }

    [Fact]
    public void Decode_BufferTooShort_ThrowsNamingSizes()
    {
        var decoder = new YoloV8Decoder("output0", 3, 100);
        var ex = Assert.Throws<ArgumentException>(() => decoder.Decode([new float[10]], 0.05f, []));
        Assert.Contains("700", ex.Message);
    }
}

public class LayoutSelectorTests
{
    private static readonly InputSpec Input320 = new("images", InputLayout.ChwFloat, 320, 320);

    private static TensorSignature T(string name, string type, params long[] shape) => new(name, type, shape);

    private static ModelSignature Sig(params TensorSignature[] outputs) =>
        new([new TensorSignature("images", "float32", 1, 3, 320, 320)], outputs);

    [Fact]
    public void SelectDecoder_ChannelsFirstOutput_IsYoloV8WithClassCount()
    {
        var d = Assert.IsType<YoloV8Decoder>(LayoutSelector.SelectDecoder(Sig(T("output0", "float32", 1, 7, 2100)), Input320));
        Assert.Equal((3, 2100), (d.ClassCount!.Value, d.AnchorCount));
    }

    [Fact]
    public void SelectDecoder_Coco640_IsYoloV8With80Classes() =>
        Assert.Equal(80, LayoutSelector.SelectDecoder(Sig(T("output0", "float32", 1, 84, 8400)), Input320).ClassCount);

    [Fact]
    public void SelectDecoder_RowsFirstOutput_IsYoloV5()
    {
        var d = Assert.IsType<YoloV5Decoder>(LayoutSelector.SelectDecoder(Sig(T("output", "float32", 1, 25200, 85)), Input320));
        Assert.Equal((80, 25200), (d.ClassCount!.Value, d.RowCount));
    }

    [Fact]
    public void SelectDecoder_TransposedV8WithMoreChannelsThanRows_IsTreatedAsYoloV5()
    {
        // [1, N, 4+C] with N > 4+C is read as YOLOv5 [1, N, 5+C]: one fewer class, the first score as objectness.
        var d = LayoutSelector.SelectDecoder(Sig(T("output0", "float32", 1, 2100, 7)), Input320);
        Assert.Equal(("yolov5", 2), (d.Layout, d.ClassCount!.Value));
    }

    [Fact]
    public void SelectDecoder_TfOdOutputs_IsSsd()
    {
        var d = LayoutSelector.SelectDecoder(Sig(
            T("detection_boxes", "float32", 1, 100, 4), T("detection_classes", "float32", 1, 100),
            T("detection_scores", "float32", 1, 100), T("num_detections", "float32", 1)), Input320);
        var ssd = Assert.IsType<SsdDecoder>(d);
        Assert.Equal(["detection_boxes", "detection_scores", "detection_classes", "num_detections"], ssd.OutputNames);
        Assert.Equal(100, ssd.MaxDetections);
    }

    [Fact]
    public void SelectDecoder_SsdWithoutNamesForScoresAndClasses_ThrowsListingOutputs()
    {
        var ex = Assert.Throws<ModelLoadException>(() => LayoutSelector.SelectDecoder(Sig(
            T("boxes", "float32", 1, 100, 4), T("a", "float32", 1, 100), T("b", "float32", 1, 100)), Input320));
        Assert.Contains("a float32[1,100]", ex.Message);
    }

    [Fact]
    public void SelectDecoder_UnsupportedShape_ThrowsNamingEveryInputAndOutput()
    {
        var ex = Assert.Throws<ModelLoadException>(() => LayoutSelector.SelectDecoder(Sig(T("logits", "float32", 1, 7)), Input320));
        Assert.Contains("images float32[1,3,320,320]", ex.Message);
        Assert.Contains("logits float32[1,7]", ex.Message);
    }

    [Fact]
    public void SelectDecoder_SymbolicOutput_ThrowsBecauseShapesMustBeProbedFirst()
    {
        var ex = Assert.Throws<ModelLoadException>(() => LayoutSelector.SelectDecoder(
            Sig(new TensorSignature("output0", "float32", [1, 7, -1], ["", "", "anchors"])), Input320));
        Assert.Contains("output0 float32[1,7,'anchors']", ex.Message);
    }

    [Fact]
    public void SelectInput_NchwFloat_ReadsSize()
    {
        var spec = LayoutSelector.SelectInput(new ModelSignature([new("images", "float32", 1, 3, 480, 640)], []), null);
        Assert.Equal(new InputSpec("images", InputLayout.ChwFloat, 640, 480), spec);
    }

    [Fact]
    public void SelectInput_NhwcUint8_ReadsSize()
    {
        var spec = LayoutSelector.SelectInput(new ModelSignature([new("input_tensor", "uint8", 1, 64, 64, 3)], []), null);
        Assert.Equal(InputLayout.NhwcByte, spec.Layout);
    }

    [Fact]
    public void SelectInput_DynamicSizeWithImgsz_UsesMetadataSize()
    {
        var spec = LayoutSelector.SelectInput(new ModelSignature(
            [new TensorSignature("images", "float32", [1, 3, -1, -1], ["", "", "h", "w"])], []), (640, 480));
        Assert.Equal((640, 480), (spec.Width, spec.Height));
    }

    [Fact]
    public void SelectInput_DynamicSizeWithoutImgsz_ThrowsNamingInput()
    {
        var ex = Assert.Throws<ModelLoadException>(() => LayoutSelector.SelectInput(new ModelSignature(
            [new TensorSignature("images", "float32", [1, 3, -1, -1], ["", "", "h", "w"])], []), null));
        Assert.Contains("images float32[1,3,'h','w']", ex.Message);
    }

    [Fact]
    public void SelectInput_TwoInputs_Throws() =>
        Assert.Throws<ModelLoadException>(() => LayoutSelector.SelectInput(new ModelSignature(
            [T("a", "float32", 1, 3, 8, 8), T("b", "float32", 1, 3, 8, 8)], []), null));
}
