using System.Globalization;

namespace SerEngine.Models.Reports;

/// <summary>A data-space line: points (x, y) in data units, drawn in one colour.</summary>
/// <param name="Name">Legend text.</param>
/// <param name="Points">Points in data units; NaN y values break the line.</param>
/// <param name="Color">Line colour.</param>
internal sealed record Series(string Name, IReadOnlyList<Pt> Points, Rgb Color);

/// <summary>The data-to-canvas mapping of a drawn plot area.</summary>
/// <param name="Area">The plot area (inside the axes) in canvas units.</param>
/// <param name="XMin">Data x at the left edge.</param>
/// <param name="XMax">Data x at the right edge.</param>
/// <param name="YMin">Data y at the bottom edge.</param>
/// <param name="YMax">Data y at the top edge.</param>
internal readonly record struct Plot(Box Area, double XMin, double XMax, double YMin, double YMax)
{
    /// <summary>Canvas x of data x.</summary>
    public double X(double x) => Area.X + (x - XMin) / Span(XMin, XMax) * Area.W;

    /// <summary>Canvas y of data y.</summary>
    public double Y(double y) => Area.Bottom - (y - YMin) / Span(YMin, YMax) * Area.H;

    /// <summary>Canvas point of a data point.</summary>
    public Pt At(double x, double y) => new(X(x), Y(y));

    private static double Span(double lo, double hi) => hi > lo ? hi - lo : 1;
}

/// <summary>
/// Chart routines on an <see cref="ICanvas"/>: axes with round-number ticks, line charts with a
/// legend, bar charts, count matrices, colour bars. Every routine draws inside the box it is given.
/// </summary>
internal static class Charts
{
    /// <summary>Font size of tick labels.</summary>
    public const double TickFont = 10;

    /// <summary>Font size of axis labels and legends.</summary>
    public const double LabelFont = 11;

    /// <summary>Font size of chart titles.</summary>
    public const double TitleFont = 13;

    /// <summary>Margins around a plot area inside a chart box: left, top, right, bottom.</summary>
    public static (double Left, double Top, double Right, double Bottom) Margins { get; } = (54, 24, 12, 38);

    /// <summary>Round-number ticks (steps of 1, 2 or 5 × 10^k) covering [lo, hi], about <paramref name="target"/> of them.</summary>
    public static double[] NiceTicks(double lo, double hi, int target = 5)
    {
        if (!double.IsFinite(lo) || !double.IsFinite(hi)) return [];
        if (hi <= lo) return [lo];
        double step = NiceStep((hi - lo) / Math.Max(1, target));
        double first = Math.Ceiling(lo / step - 1e-9) * step;
        var ticks = new List<double>();
        for (double v = first; v <= hi + step * 1e-9; v += step) ticks.Add(Math.Abs(v) < step * 1e-9 ? 0 : v);
        return [.. ticks];
    }

    /// <summary>The round step (1, 2 or 5 × 10^k) nearest to <paramref name="raw"/> on a log scale.</summary>
    public static double NiceStep(double raw)
    {
        if (!(raw > 0)) return 1;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double f = raw / mag;
        return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
    }

    /// <summary>A tick label with as many decimals as the tick step needs.</summary>
    public static string FormatTick(double v, double step)
    {
        int decimals = step >= 1 || step <= 0 ? 0 : (int)Math.Ceiling(-Math.Log10(step) - 1e-9);
        return v.ToString("F" + Math.Min(decimals, 6).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>How many ticks fit along <paramref name="length"/> units at <paramref name="spacing"/> apart (at least 2).</summary>
    public static int MaxTicks(double length, double spacing) => Math.Max(2, (int)(length / spacing));

    /// <summary>Draws a title, the frame, grid lines, ticks with labels and axis labels; returns the mapping of the plot area.</summary>
    public static Plot Axes(ICanvas c, Box box, double xMin, double xMax, double yMin, double yMax,
        string? title, string? xLabel, string? yLabel, int xTicks = 6, int yTicks = 5)
    {
        var (ml, mt, mr, mb) = Margins;
        var area = new Box(box.X + ml, box.Y + mt, Math.Max(1, box.W - ml - mr), Math.Max(1, box.H - mt - mb));
        var plot = new Plot(area, xMin, xMax, yMin, yMax);
        xTicks = Math.Min(xTicks, MaxTicks(area.W, 60));
        yTicks = Math.Min(yTicks, MaxTicks(area.H, 22));
        if (title is not null) c.Text(new Pt(area.X, box.Y + 15), TextMetrics.Fit(title, TitleFont, box.Right - area.X, canvas: c), TitleFont, Rgb.Ink, bold: true);
        var xt = NiceTicks(xMin, xMax, xTicks);
        var yt = NiceTicks(yMin, yMax, yTicks);
        double xs = xt.Length > 1 ? xt[1] - xt[0] : 1, ys = yt.Length > 1 ? yt[1] - yt[0] : 1;
        foreach (var v in yt)
        {
            double y = plot.Y(v);
            c.Line(new Pt(area.X, y), new Pt(area.Right, y), Rgb.Grid, 0.8);
            c.Line(new Pt(area.X - 4, y), new Pt(area.X, y), Rgb.Ink, 1);
            c.Text(new Pt(area.X - 6, y + 3.5), FormatTick(v, ys), TickFont, Rgb.Ink, TextAnchor.End);
        }
        foreach (var v in xt)
        {
            double x = plot.X(v);
            c.Line(new Pt(x, area.Bottom), new Pt(x, area.Bottom + 4), Rgb.Ink, 1);
            c.Text(new Pt(x, area.Bottom + 15), FormatTick(v, xs), TickFont, Rgb.Ink, TextAnchor.Middle);
        }
        c.StrokeRect(area, Rgb.Ink, 1);
        if (xLabel is not null) c.Text(new Pt(area.X + area.W / 2, area.Bottom + 31), xLabel, LabelFont, Rgb.Ink, TextAnchor.Middle);
        if (yLabel is not null) c.Text(new Pt(box.X + 13, area.Y + area.H / 2), yLabel, LabelFont, Rgb.Ink, TextAnchor.Middle, vertical: true);
        return plot;
    }

    /// <summary>A line chart of <paramref name="series"/> with a legend; each axis range is the one given or fitted to the data.</summary>
    public static Plot LineChart(ICanvas c, Box box, IReadOnlyList<Series> series, string title, string xLabel, string yLabel,
        double? yMin = null, double? yMax = null, double? xMin = null, double? xMax = null, int? xTicks = null, bool legendOutside = false)
    {
        var pts = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        double x0 = xMin ?? (pts.Count > 0 ? pts.Min(p => p.X) : 0), x1 = xMax ?? (pts.Count > 0 ? pts.Max(p => p.X) : 1);
        double y0 = yMin ?? (pts.Count > 0 ? pts.Min(p => p.Y) : 0), y1 = yMax ?? (pts.Count > 0 ? pts.Max(p => p.Y) : 1);
        if (x1 <= x0) x1 = x0 + 1;
        if (y1 <= y0) y1 = y0 + 1;
        if (yMin is null || yMax is null)
        {
            var t = NiceTicks(y0, y1, MaxTicks(box.H - Margins.Top - Margins.Bottom, 22));
            double step = t.Length > 1 ? t[1] - t[0] : 1;
            if (yMin is null) y0 = Math.Floor(y0 / step) * step;
            if (yMax is null) y1 = Math.Ceiling(y1 / step) * step;
        }
        var plot = Axes(c, box, x0, x1, y0, y1, title, xLabel, yLabel, xTicks: xTicks ?? Math.Min(8, Math.Max(2, (int)(x1 - x0))));
        foreach (var s in series)
        {
            foreach (var run in Runs(s.Points)) c.Polyline([.. run.Select(p => plot.At(p.X, p.Y))], s.Color, 1.8);
            foreach (var p in s.Points.Where(p => double.IsFinite(p.Y))) c.Dot(plot.At(p.X, p.Y), 2.2, s.Color);
        }
        var entries = series.Select(s => (s.Name, s.Color)).ToList();
        if (legendOutside) LegendAt(c, new Pt(box.Right + 8, plot.Area.Y), entries);
        else Legend(c, new Pt(plot.Area.Right - 6, plot.Area.Y + 6), entries);
        return plot;
    }

    /// <summary>A legend box whose top-right corner is at <paramref name="topRight"/>.</summary>
    public static void Legend(ICanvas c, Pt topRight, IReadOnlyList<(string Name, Rgb Color)> entries)
    {
        if (entries.Count == 0) return;
        LegendAt(c, new Pt(topRight.X - LegendWidth(entries), topRight.Y), entries);
    }

    /// <summary>Width of the legend box of <paramref name="entries"/>.</summary>
    public static double LegendWidth(IReadOnlyList<(string Name, Rgb Color)> entries) =>
        entries.Count == 0 ? 0 : entries.Max(e => TextMetrics.Width(e.Name, LabelFont)) + 34;

    /// <summary>A legend box whose top-left corner is at <paramref name="topLeft"/>.</summary>
    public static void LegendAt(ICanvas c, Pt topLeft, IReadOnlyList<(string Name, Rgb Color)> entries)
    {
        if (entries.Count == 0) return;
        double w = LegendWidth(entries), h = entries.Count * 16 + 6;
        var box = new Box(topLeft.X, topLeft.Y, w, h);
        c.FillRect(box, Rgb.White, 0.85);
        c.StrokeRect(box, Rgb.Grid, 1);
        for (int i = 0; i < entries.Count; i++)
        {
            double y = box.Y + 14 + i * 16;
            c.Line(new Pt(box.X + 6, y - 4), new Pt(box.X + 22, y - 4), entries[i].Color, 3);
            c.Text(new Pt(box.X + 28, y), entries[i].Name, LabelFont, Rgb.Ink);
        }
    }

    /// <summary>Vertical bars of <paramref name="values"/> (NaN drawn as "n/a") on [0, yMax], each labelled with its value.</summary>
    public static Plot BarChart(ICanvas c, Box box, IReadOnlyList<string> labels, IReadOnlyList<double> values, string title, string yLabel,
        double yMax = 1, string format = "0.00", IReadOnlyList<Rgb>? colors = null)
    {
        var (ml, mt, mr, mb) = Margins;
        var area = new Box(box.X + ml, box.Y + mt, Math.Max(1, box.W - ml - mr), Math.Max(1, box.H - mt - mb));
        var plot = new Plot(area, 0, labels.Count, 0, yMax);
        c.Text(new Pt(area.X, box.Y + 15), TextMetrics.Fit(title, TitleFont, box.Right - area.X, canvas: c), TitleFont, Rgb.Ink, bold: true);
        var yt = NiceTicks(0, yMax, 5);
        double ys = yt.Length > 1 ? yt[1] - yt[0] : 1;
        foreach (var v in yt)
        {
            double y = plot.Y(v);
            c.Line(new Pt(area.X, y), new Pt(area.Right, y), Rgb.Grid, 0.8);
            c.Text(new Pt(area.X - 6, y + 3.5), FormatTick(v, ys), TickFont, Rgb.Ink, TextAnchor.End);
        }
        double slot = area.W / Math.Max(1, labels.Count);
        for (int i = 0; i < labels.Count; i++)
        {
            double v = values[i], cx = area.X + (i + 0.5) * slot;
            if (double.IsFinite(v))
            {
                double top = plot.Y(Math.Clamp(v, 0, yMax));
                c.FillRect(new Box(cx - slot * 0.32, top, slot * 0.64, area.Bottom - top), colors?[i % colors.Count] ?? Palette.At(i));
                c.Text(new Pt(cx, top - 4), v.ToString(format, CultureInfo.InvariantCulture), TickFont, Rgb.Ink, TextAnchor.Middle);
            }
            else c.Text(new Pt(cx, area.Bottom - 6), "n/a", TickFont, Rgb.Ink, TextAnchor.Middle);
            c.Text(new Pt(cx, area.Bottom + 15), labels[i], TickFont, Rgb.Ink, TextAnchor.Middle);
        }
        c.Line(new Pt(area.X, area.Bottom), new Pt(area.Right, area.Bottom), Rgb.Ink, 1);
        c.Line(new Pt(area.X, area.Y), new Pt(area.X, area.Bottom), Rgb.Ink, 1);
        c.Text(new Pt(box.X + 13, area.Y + area.H / 2), yLabel, LabelFont, Rgb.Ink, TextAnchor.Middle, vertical: true);
        return plot;
    }

    /// <summary>
    /// A matrix of counts [rows, cols] as coloured cells with the count written in each (rows: true
    /// class, columns: predicted class for a confusion matrix). Colours scale with the row share.
    /// </summary>
    public static void CountMatrix(ICanvas c, Box box, int[,] counts, IReadOnlyList<string> rowLabels, IReadOnlyList<string> colLabels,
        string title, string rowTitle, string colTitle, ColorMap map)
    {
        int rows = counts.GetLength(0), cols = counts.GetLength(1);
        double labelW = Math.Max(50, rowLabels.Max(l => TextMetrics.Width(l, LabelFont)) + 28);
        var area = new Box(box.X + labelW, box.Y + 40, Math.Max(1, box.W - labelW - 10), Math.Max(1, box.H - 80));
        double cw = area.W / cols, ch = area.H / rows;
        c.Text(new Pt(box.X + 4, box.Y + 15), TextMetrics.Fit(title, TitleFont, box.W - 8, canvas: c), TitleFont, Rgb.Ink, bold: true);
        c.Text(new Pt(area.X + area.W / 2, box.Y + 34), colTitle, LabelFont, Rgb.Ink, TextAnchor.Middle);
        c.Text(new Pt(box.X + 13, area.Y + area.H / 2), rowTitle, LabelFont, Rgb.Ink, TextAnchor.Middle, vertical: true);
        for (int i = 0; i < rows; i++)
        {
            int total = 0;
            for (int j = 0; j < cols; j++) total += counts[i, j];
            c.Text(new Pt(area.X - 6, area.Y + (i + 0.5) * ch + 4), rowLabels[i], LabelFont, Rgb.Ink, TextAnchor.End);
            for (int j = 0; j < cols; j++)
            {
                var fill = map.At(total > 0 ? counts[i, j] / (double)total : 0);
                var cell = new Box(area.X + j * cw, area.Y + i * ch, cw, ch);
                c.FillRect(cell, fill);
                c.StrokeRect(cell, Rgb.White, 1);
                c.Text(new Pt(cell.X + cw / 2, cell.Y + ch / 2 + 5), counts[i, j].ToString(CultureInfo.InvariantCulture), 14,
                    fill.Luminance > 0.5 ? Rgb.Ink : Rgb.White, TextAnchor.Middle, bold: true);
            }
        }
        for (int j = 0; j < cols; j++)
            c.Text(new Pt(area.X + (j + 0.5) * cw, area.Bottom + 16), colLabels[j], LabelFont, Rgb.Ink, TextAnchor.Middle);
    }

    /// <summary>A vertical colour bar for <paramref name="map"/> from <paramref name="lo"/> (bottom) to <paramref name="hi"/> (top).</summary>
    public static void ColorBar(ICanvas c, Box box, ColorMap map, double lo, double hi, string label)
    {
        const int Steps = 64;
        var image = new RgbaImage(1, Steps);
        for (int i = 0; i < Steps; i++) image.Set(0, Steps - 1 - i, map.At((i + 0.5) / Steps));
        c.Image(box, image);
        c.StrokeRect(box, Rgb.Ink, 0.8);
        var ticks = NiceTicks(lo, hi, 3);
        double step = ticks.Length > 1 ? ticks[1] - ticks[0] : 1;
        foreach (var t in ticks)
        {
            double y = box.Bottom - (t - lo) / (hi > lo ? hi - lo : 1) * box.H;
            c.Line(new Pt(box.Right, y), new Pt(box.Right + 3, y), Rgb.Ink, 1);
            c.Text(new Pt(box.Right + 5, y + 3.5), FormatTick(t, step), TickFont - 1, Rgb.Ink);
        }
        c.Text(new Pt(box.X + box.W / 2, box.Y - 5), label, TickFont - 1, Rgb.Ink, TextAnchor.Middle);
    }

    private static IEnumerable<List<Pt>> Runs(IReadOnlyList<Pt> points)
    {
        var run = new List<Pt>();
        foreach (var p in points)
        {
            if (double.IsFinite(p.Y) && double.IsFinite(p.X)) run.Add(p);
            else if (run.Count > 0)
            {
                yield return run;
                run = [];
            }
        }
        if (run.Count > 0) yield return run;
    }
}
