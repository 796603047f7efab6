using ScottPlot;

namespace EdgeLabeling.Cli.Reporting;

/// <summary>PNG charts for reports (ScottPlot renders through SkiaSharp, no display needed).</summary>
internal static class Charts
{
    public const int Width = 900;
    public const int Height = 520;
    private const string FontName = "EdgeLabeling Sans";

    // SkiaSharp's NoDependencies native build has no fontconfig, so system fonts are invisible to it and
    // every label would render empty; register a TrueType file explicitly (fonts-dejavu-core, see scripts/setup.sh).
    private static readonly Lazy<bool> FontReady = new(() =>
    {
        string[] candidates = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"];
        var file = candidates.FirstOrDefault(File.Exists)
            ?? (Directory.Exists("/usr/share/fonts") ? Directory.EnumerateFiles("/usr/share/fonts", "*.ttf", SearchOption.AllDirectories).FirstOrDefault() : null);
        if (file is null)
        {
            return false;
        }

        // Titles and axis labels are bold: without a bold face registered under the same name they vanish too.
        var bold = file.Replace(".ttf", "-Bold.ttf", StringComparison.Ordinal);
        Fonts.AddFontFile(FontName, file, bold: false, italic: false);
        Fonts.AddFontFile(FontName, File.Exists(bold) ? bold : file, bold: true, italic: false);
        Fonts.Default = FontName;
        return true;
    });

    /// <summary>False when no TrueType font was found: charts are drawn without text.</summary>
    public static bool HasFont => FontReady.Value;

    private static Plot NewPlot()
    {
        _ = FontReady.Value;
        return new Plot();
    }

    /// <summary>Human share (x) against automatic-label precision (y), one point per threshold, the target as a line.</summary>
    public static void TradeOff(string path, IReadOnlyList<(double Threshold, double HumanShare, double Precision)> points, double target, (double HumanShare, double Precision)? chosen)
    {
        var plot = NewPlot();
        var xs = points.Select(p => p.HumanShare * 100).ToArray();
        var ys = points.Select(p => p.Precision * 100).ToArray();
        var line = plot.Add.Scatter(xs, ys);
        line.LegendText = "auto-accept threshold sweep";
        foreach (var p in points.Where((_, i) => i % 2 == 0))
        {
            var label = plot.Add.Text(p.Threshold.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), p.HumanShare * 100, p.Precision * 100);
            label.LabelFontSize = 10;
        }

        var targetLine = plot.Add.HorizontalLine(target * 100);
        targetLine.LegendText = $"target precision {target:P0}";
        targetLine.LinePattern = LinePattern.Dashed;
        if (chosen is { } c)
        {
            var m = plot.Add.Marker(c.HumanShare * 100, c.Precision * 100);
            m.Size = 14;
            m.LegendText = "recommended";
        }

        plot.Title("Images sent to people vs precision of automatic labels");
        plot.XLabel("images sent to people (%)");
        plot.YLabel("automatic-label precision (%)");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, Width, Height);
    }

    /// <summary>
    /// Per class: the Wilson lower bound of production precision of the boxes at or above each threshold (x), the target as a
    /// dashed line, and a marker where today's and the recommended threshold sit on the class's curve.
    /// </summary>
    public static void PrecisionCurves(string path, IReadOnlyList<(string Class, IReadOnlyList<(double Threshold, double? Lower)> Curve, double Current, double Recommended)> classes, double target)
    {
        var plot = NewPlot();
        foreach (var (name, curve, current, recommended) in classes)
        {
            var points = curve.Where(p => p.Lower is not null).ToList();
            if (points.Count == 0)
            {
                continue;
            }

            var line = plot.Add.Scatter(points.Select(p => p.Threshold).ToArray(), points.Select(p => p.Lower!.Value * 100).ToArray());
            line.LegendText = name;
            foreach (var (x, size) in new[] { (current, 8f), (recommended, 14f) })
            {
                if (points.FirstOrDefault(p => p.Threshold >= x - 1e-9) is { Lower: { } y })
                {
                    var marker = plot.Add.Marker(x, y * 100);
                    marker.Size = size;
                    marker.Color = line.Color;
                }
            }
        }

        var targetLine = plot.Add.HorizontalLine(target * 100);
        targetLine.LegendText = $"target {target:P0}";
        targetLine.LinePattern = LinePattern.Dashed;
        plot.Title("Production precision (Wilson lower bound) by auto-accept threshold; small: today, large: recommended");
        plot.XLabel("auto-accept threshold");
        plot.YLabel("precision lower bound (%)");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, Width, Height);
    }

    /// <summary>A labeled bar chart (counts, bytes, dollars).</summary>
    public static void Bars(string path, string title, string yLabel, IReadOnlyList<(string Label, double Value)> bars)
    {
        var plot = NewPlot();
        var values = bars.Select(b => b.Value).ToArray();
        var barPlot = plot.Add.Bars(values);
        foreach (var (bar, i) in barPlot.Bars.Select((b, i) => (b, i)))
        {
            bar.Label = FormatValue(bars[i].Value);
        }

        barPlot.ValueLabelStyle.FontSize = 12;
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, bars.Count).Select(i => (double)i).ToArray(), bars.Select(b => b.Label).ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel(yLabel);
        plot.SavePng(path, Width, Height);
    }

    private static string FormatValue(double v) => v >= 100 ? v.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : v.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);
}
