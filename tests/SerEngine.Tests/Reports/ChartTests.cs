using System.Globalization;
using System.Xml.Linq;
using SerEngine.Models.Reports;

namespace SerEngine.Tests.Reports;

/// <summary>The SVG writer, the chart routines, the colour maps and the ticks.</summary>
public sealed class ChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static XElement Parse(SvgCanvas c) => XDocument.Parse(c.ToDocument()).Root!;

    private static double D(XElement e, string attr) => double.Parse(e.Attribute(attr)!.Value, CultureInfo.InvariantCulture);

    [Fact]
    public void SvgDocumentIsWellFormedAndEscapesText()
    {
        var c = new SvgCanvas(100, 50) { Title = "a < b & \"c\"" };
        c.Text(new Pt(10, 20), "x<y & 'z' \u0001", 12, Rgb.Black, TextAnchor.Middle);
        c.FillRect(new Box(1, 2, 3.456, 4), Rgb.Hex("#102030"), 0.5);
        var root = Parse(c);
        Assert.Equal("svg", root.Name.LocalName);
        Assert.Equal("0 0 100 50", root.Attribute("viewBox")!.Value);
        Assert.Equal("a < b & \"c\"", root.Element(Svg + "title")!.Value);
        var text = root.Element(Svg + "text")!;
        Assert.Equal("x<y & 'z' ", text.Value); // the control character is dropped
        Assert.Equal("middle", text.Attribute("text-anchor")!.Value);
        var rect = root.Element(Svg + "rect")!;
        Assert.Equal(3.46, D(rect, "width"));
        Assert.Equal("#102030", rect.Attribute("fill")!.Value);
        Assert.Equal("0.5", rect.Attribute("fill-opacity")!.Value);
        Assert.DoesNotContain("xmlns", c.ToString()); // the inline form carries no namespace (no http reference in HTML)
    }

    [Fact]
    public void NumbersUseInvariantCultureWhateverTheCurrentCulture()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone(); // a decimal comma (the tests run in invariant-globalization mode)
            comma.NumberFormat.NumberDecimalSeparator = ",";
            CultureInfo.CurrentCulture = comma;
            var c = new SvgCanvas(10, 10);
            c.Line(new Pt(1.25, 2.5), new Pt(3.126, 4), Rgb.Black, 1.5);
            var line = Parse(c).Element(Svg + "line")!;
            Assert.Equal("1.25", line.Attribute("x1")!.Value);
            Assert.Equal("3.13", line.Attribute("x2")!.Value);
            Assert.Equal("1.5", line.Attribute("stroke-width")!.Value);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Theory]
    [InlineData(0, 1, 5, new[] { 0, 0.2, 0.4, 0.6, 0.8, 1.0 })]
    [InlineData(0.3, 2.9, 5, new[] { 0.5, 1.0, 1.5, 2.0, 2.5 })]
    [InlineData(1, 11, 6, new[] { 2.0, 4, 6, 8, 10 })]
    [InlineData(-3, 3, 3, new[] { -2.0, 0, 2 })]
    public void NiceTicksAreRoundStepsInsideTheRange(double lo, double hi, int target, double[] expected)
    {
        var ticks = Charts.NiceTicks(lo, hi, target);
        Assert.Equal(expected.Length, ticks.Length);
        for (int i = 0; i < ticks.Length; i++) Assert.Equal(expected[i], ticks[i], 9);
        Assert.Equal("0.40", Charts.FormatTick(0.4, 0.05));
        Assert.Equal("12", Charts.FormatTick(12, 2));
    }

    [Fact]
    public void LineChartDrawsOnePolylinePerSeriesAtTheMappedPositions()
    {
        var c = new SvgCanvas(400, 300);
        var a = new Series("fold 1", [new Pt(1, 0.5), new Pt(2, 1.0), new Pt(3, 0.0)], Palette.At(0));
        var b = new Series("fold 2", [new Pt(1, 0.25), new Pt(2, double.NaN), new Pt(3, 0.75)], Palette.At(1));
        var plot = Charts.LineChart(c, new Box(0, 0, 400, 300), [a, b], "val UA", "epoch", "UA", 0, 1);
        var root = Parse(c);
        var lines = root.Elements(Svg + "polyline").ToList();
        Assert.Equal(1 + 2, lines.Count); // fold 2 is broken at its NaN into two one-point runs: 1 + 2
        var (ml, mt, mr, mb) = Charts.Margins;
        Assert.Equal(new Box(ml, mt, 400 - ml - mr, 300 - mt - mb), plot.Area);
        // fold 1 point (2, 1.0) sits at the top edge, halfway across
        string expected = $"{SvgCanvas.Num(plot.X(2))},{SvgCanvas.Num(mt)}";
        Assert.Contains(expected, lines[0].Attribute("points")!.Value.Split(' '));
        Assert.Equal(plot.Area.X + plot.Area.W / 2, plot.X(2), 9);
        Assert.Equal(Palette.At(0).ToHex(), lines[0].Attribute("stroke")!.Value);
        var texts = root.Elements(Svg + "text").Select(t => t.Value).ToList();
        foreach (var label in new[] { "val UA", "epoch", "UA", "fold 1", "fold 2", "0.0", "0.2", "1.0", "1", "2", "3" }) Assert.Contains(label, texts);
        Assert.Equal(5, root.Elements(Svg + "circle").Count()); // one dot per finite point
    }

    [Fact]
    public void BarChartHeightsAreProportionalToTheValues()
    {
        var c = new SvgCanvas(300, 200);
        var plot = Charts.BarChart(c, new Box(0, 0, 300, 200), ["a", "b", "c"], [0.5, 1.0, double.NaN], "recall", "recall");
        var bars = Parse(c).Elements(Svg + "rect").Where(r => r.Attribute("fill")!.Value != Rgb.Grid.ToHex()).ToList();
        Assert.Equal(2, bars.Count); // NaN gets no bar
        Assert.Equal(plot.Area.H / 2, D(bars[0], "height"), 1);
        Assert.Equal(plot.Area.H, D(bars[1], "height"), 1);
        Assert.Equal(plot.Area.Bottom, D(bars[0], "y") + D(bars[0], "height"), 1);
        var texts = Parse(c).Elements(Svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("0.50", texts);
        Assert.Contains("1.00", texts);
        Assert.Contains("n/a", texts);
    }

    [Fact]
    public void CountMatrixWritesEveryCountInAColouredCell()
    {
        var c = new SvgCanvas(400, 300);
        int[,] counts = { { 5, 1, 0 }, { 2, 7, 1 }, { 0, 0, 9 } };
        Charts.CountMatrix(c, new Box(0, 0, 400, 300), counts, ["n", "h", "s"], ["n", "h", "s"], "confusion", "true", "predicted", ColorMap.Blues);
        var root = Parse(c);
        var cells = root.Elements(Svg + "rect").Where(r => r.Attribute("fill")!.Value != "none").ToList();
        Assert.Equal(9, cells.Count);
        Assert.Equal(ColorMap.Blues.At(5 / 6.0).ToHex(), cells[0].Attribute("fill")!.Value); // row share 5/6
        Assert.Equal(ColorMap.Blues.At(1.0).ToHex(), cells[8].Attribute("fill")!.Value);
        var texts = root.Elements(Svg + "text").Select(t => t.Value).ToList();
        foreach (var n in new[] { "5", "1", "0", "2", "7", "9" }) Assert.Contains(n, texts);
        Assert.Equal(9 + 3 + 3 + 3, texts.Count); // counts, row and column labels, title and axis titles
    }

    [Fact]
    public void ColorMapsInterpolateTheirAnchorsAndViridisBrightensMonotonically()
    {
        Assert.Equal(Rgb.Hex("#440154"), ColorMap.Viridis.At(0));
        Assert.Equal(Rgb.Hex("#fde725"), ColorMap.Viridis.At(1));
        Assert.Equal(Rgb.Hex("#21918c"), ColorMap.Viridis.At(0.5));
        Assert.Equal(ColorMap.Viridis.At(0), ColorMap.Viridis.At(double.NaN));
        Assert.Equal(ColorMap.Viridis.At(1), ColorMap.Viridis.At(7));
        var mid = Rgb.Hex("#440154").Lerp(Rgb.Hex("#472d7b"), 0.5); // halfway between the first two anchors
        Assert.Equal(mid, ColorMap.Viridis.At(0.0625));
        double last = -1;
        for (int i = 0; i <= 100; i++)
        {
            double l = ColorMap.Viridis.At(i / 100.0).Luminance;
            Assert.True(l >= last - 1e-9, $"luminance falls at {i / 100.0}");
            last = l;
        }
        var image = ColorMap.Viridis.ToImage([0f, 1f, 2f, 3f], 2, 2, 0, 3, flipRows: true);
        Assert.Equal(ColorMap.Viridis.At(0), image.Get(0, 1)); // row 0 drawn at the bottom
        Assert.Equal(ColorMap.Viridis.At(1), image.Get(1, 0));
    }

    [Fact]
    public void EveryAsciiGlyphHasSevenRowsOfFiveAndTheyDiffer()
    {
        var seen = new HashSet<string>();
        for (char ch = ' '; ch <= '~'; ch++)
        {
            var bits = string.Concat(Enumerable.Range(0, 35).Select(i => BitmapFont.IsSet(ch, i % 5, i / 5) ? '#' : '.'));
            Assert.True(seen.Add(bits), $"glyph '{ch}' repeats another");
            Assert.Equal(ch == ' ', bits.All(b => b == '.'));
        }
        Assert.True(BitmapFont.IsSet('T', 0, 0) && BitmapFont.IsSet('T', 4, 0) && BitmapFont.IsSet('T', 2, 6) && !BitmapFont.IsSet('T', 0, 6));
        Assert.Equal('x', BitmapFont.Printable('×'));
        Assert.Equal('?', BitmapFont.Printable('€'));
    }
}
