using System.Globalization;

namespace SerEngine.Models.Reports;

/// <summary>
/// The per-utterance figure of <c>ser explain</c> and of the training report: a title with the true
/// and predicted label, the class probabilities, the input features as a heatmap, and below it, on
/// the same time axis, what the model attended to. AttentionFcn: its pooling weights over the last
/// feature map (cells stretched over the input's time × frequency extent, the strongest outlined on
/// the spectrogram) and their sum over frequency. FocusCalibrationNet: per head, the focus centre
/// with a band of ± half the width, the attention each time step receives, and the calibration weight.
/// </summary>
public static class UtteranceFigure
{
    /// <summary>Canvas width of the figure.</summary>
    public const double FigureWidth = 960;

    private const double PlotWidth = 760, HeaderHeight = 46, HeatHeight = 210;

    /// <summary>Canvas height the figure of <paramref name="e"/> needs.</summary>
    public static double Height(UtteranceExplanation e) => HeaderHeight + HeatHeight + (e.Fcn is not null ? HeatHeight + 130
        : e.Fca is null ? 0 : 220 + StripsHeight(e.Fca) + (e.Fca.HeadWeights is null ? 0 : 140));

    /// <summary>The figure as a standalone SVG document.</summary>
    public static string ToSvgDocument(UtteranceExplanation e) => ToSvg(e).ToDocument();

    /// <summary>The figure as a PNG file's bytes, painted at <paramref name="scale"/> pixels per unit (2: 1920 pixels wide).</summary>
    public static byte[] ToPng(UtteranceExplanation e, double scale = 2) => PngEncoder.Encode(ToImage(e, scale));

    /// <summary>
    /// Writes the figure to <paramref name="path"/> atomically (temp file + rename): SVG when the path ends
    /// in <c>.svg</c>, else PNG at <paramref name="scale"/> pixels per unit.
    /// </summary>
    public static void Write(string path, UtteranceExplanation e, double scale = 2)
    {
        if (Path.GetExtension(path).Equals(".svg", StringComparison.OrdinalIgnoreCase)) ReportFiles.WriteAtomic(path, ToSvgDocument(e));
        else ReportFiles.WriteAtomic(path, ToPng(e, scale));
    }

    /// <summary>The figure as a standalone SVG canvas.</summary>
    internal static SvgCanvas ToSvg(UtteranceExplanation e)
    {
        var c = new SvgCanvas(FigureWidth, Height(e)) { Title = $"{e.Name}: predicted {e.Predicted}" };
        Draw(c, e);
        return c;
    }

    /// <summary>The figure painted at <paramref name="scale"/> pixels per unit.</summary>
    internal static RgbaImage ToImage(UtteranceExplanation e, double scale = 2)
    {
        var c = new RasterCanvas(FigureWidth, Height(e), scale);
        Draw(c, e);
        return c.Pixels;
    }

    /// <summary>Draws the figure of <paramref name="e"/> on <paramref name="c"/> (which must be <see cref="Height"/> tall).</summary>
    internal static void Draw(ICanvas c, UtteranceExplanation e)
    {
        string truth = e.TrueLabel is null ? "" : $"true {e.TrueLabel}, ";
        bool right = e.TrueLabel is null || e.TrueLabel == e.Predicted;
        c.Text(new Pt(8, 18), TextMetrics.Fit(e.Name, Charts.TitleFont + 1, FigureWidth - 16, keepEnd: true, canvas: c), Charts.TitleFont + 1, Rgb.Ink, bold: true);
        c.Text(new Pt(8, 36), string.Create(CultureInfo.InvariantCulture,
            $"{e.Kind}: {truth}predicted {e.Predicted} (p = {e.Probabilities.Max():0.000}); {e.Features.Frames} frames, {e.Features.Frames * e.FrameSeconds:0.00} s"),
            Charts.LabelFont, right ? Rgb.Ink : Rgb.Hex("#c0392b"));
        DrawProbabilities(c, new Box(PlotWidth + 40, HeaderHeight + 10, FigureWidth - PlotWidth - 48, HeatHeight - 20), e);

        var f = e.Features;
        double seconds = f.Frames * e.FrameSeconds;
        var specBox = new Box(0, HeaderHeight, PlotWidth, HeatHeight);
        var spec = Charts.Axes(c, specBox, 0, seconds, 0, f.Bins,
            $"input: {e.FeatureName}s{(e.ScaleRows ? " (each row scaled to its own 1st..99th percentile)" : "")}", null, e.FeatureName, xTicks: 8);
        var (lo, hi) = Range(f.Values);
        var shown = f.Values;
        if (e.ScaleRows)
        {
            (shown, lo, hi) = (ScaleRows(f), 0, 1);
        }
        c.Image(spec.Area, ColorMap.Viridis.ToImage(shown, f.Bins, f.Frames, lo, hi, flipRows: true));
        c.StrokeRect(spec.Area, Rgb.Ink, 1);
        Charts.ColorBar(c, new Box(spec.Area.Right + 6, spec.Area.Y + 14, 8, spec.Area.H - 14), ColorMap.Viridis, lo, hi, "");
        double y = HeaderHeight + HeatHeight;
        if (e.Fcn is not null) DrawFcn(c, e, e.Fcn, spec, y, seconds);
        if (e.Fca is not null) DrawFca(c, e, e.Fca, y, seconds);
    }

    private static void DrawProbabilities(ICanvas c, Box box, UtteranceExplanation e)
    {
        c.Text(new Pt(box.X, box.Y + 10), "probabilities", Charts.LabelFont, Rgb.Ink, bold: true);
        double row = Math.Min(28, (box.H - 20) / Math.Max(1, e.Labels.Count));
        int best = Training.SerModel.ArgMax(e.Probabilities);
        for (int i = 0; i < e.Labels.Count; i++)
        {
            double top = box.Y + 22 + i * row;
            c.Text(new Pt(box.X, top + 10), e.Labels[i], Charts.TickFont, Rgb.Ink, bold: i == best);
            var bar = new Box(box.X, top + 13, box.W - 40, 8);
            c.FillRect(bar, Rgb.Grid);
            c.FillRect(bar with { W = bar.W * Math.Clamp(e.Probabilities[i], 0, 1) }, i == best ? Palette.At(0) : Rgb.Hex("#9aa9bb"));
            c.Text(new Pt(box.Right, top + 21), e.Probabilities[i].ToString("0.000", CultureInfo.InvariantCulture), Charts.TickFont, Rgb.Ink, TextAnchor.End);
        }
    }

    private static void DrawFcn(ICanvas c, UtteranceExplanation e, FcnAttention a, Plot spec, double y, double seconds)
    {
        // outline the strongest cells (≥ half the largest weight) on the spectrogram, unless the
        // weights are close to uniform (then every cell would be outlined)
        float max = a.Weights.Max();
        bool peaked = max >= 1.5 / a.Weights.Length;
        double cw = spec.Area.W / a.Frames, ch = spec.Area.H / a.Bins;
        for (int fi = 0; fi < a.Bins && peaked; fi++)
            for (int ti = 0; ti < a.Frames; ti++)
                if (a.Weights[fi * a.Frames + ti] >= 0.5f * max)
                    c.StrokeRect(new Box(spec.Area.X + ti * cw, spec.Area.Bottom - (fi + 1) * ch, cw, ch), Rgb.White, 1.5);

        var box = new Box(0, y, PlotWidth, HeatHeight);
        var plot = Charts.Axes(c, box, 0, seconds, 0, e.Features.Bins,
            string.Create(CultureInfo.InvariantCulture, $"attention weights α over the last feature map ({a.Bins} × {a.Frames} cells; {(peaked ? "outlined above: α ≥ max/2" : "near uniform: max < 1.5 × 1/cells")})"),
            null, e.FeatureName, xTicks: 8);
        float min = a.Weights.Min();
        c.Image(plot.Area, ColorMap.Inferno.ToImage(a.Weights, a.Bins, a.Frames, min, max, flipRows: true));
        c.StrokeRect(plot.Area, Rgb.Ink, 1);
        Charts.ColorBar(c, new Box(plot.Area.Right + 6, plot.Area.Y + 14, 8, plot.Area.H - 14), ColorMap.Inferno, min, max, "α");

        var overTime = new List<Pt>();
        for (int ti = 0; ti < a.Frames; ti++)
        {
            double sum = 0;
            for (int fi = 0; fi < a.Bins; fi++) sum += a.Weights[fi * a.Frames + ti];
            overTime.Add(new Pt((ti + 0.5) * seconds / a.Frames, sum));
        }
        Charts.LineChart(c, new Box(0, y + HeatHeight, PlotWidth, 130), [new Series("sum over frequency", overTime, Palette.At(1))],
            "attention per time step (sum over frequency cells)", "time (s)", "α", 0, null, 0, seconds, 8, legendOutside: true);
    }

    private static double StripsHeight(FcaAttention a) => 34 + 26 * a.Heads;

    private static void DrawFca(ICanvas c, UtteranceExplanation e, FcaAttention a, double y, double seconds)
    {
        double dt = e.FrameSeconds;
        int s = a.SegmentStarts.Length, h = a.Heads, t = a.Tokens;
        if (a.Centres is not null && a.Widths is not null)
        {
            var plot = Charts.Axes(c, new Box(0, y, PlotWidth, 220), 0, seconds, 0, seconds,
                "focus centre P per head and query time (band P - W/2 .. P + W/2; grey: itself)", null, "focus centre (s)", xTicks: 8);
            c.Line(plot.At(0, 0), plot.At(seconds, seconds), Rgb.Hex("#999999"), 1);
            for (int hi = 0; hi < h; hi++)
            {
                var color = Palette.At(hi);
                for (int si = 0; si < s; si++)
                {
                    var centre = new List<Pt>();
                    var upper = new List<Pt>();
                    var lower = new List<Pt>();
                    for (int ti = 0; ti < t; ti++)
                    {
                        double qx = a.Frame(si, ti + 0.5) * dt;
                        if (qx > seconds) break;
                        int k = (si * h + hi) * t + ti;
                        double p = a.Frame(si, a.Centres[k]) * dt, half = a.Widths[k] * a.FramesPerToken * dt / 2;
                        centre.Add(plot.At(qx, Math.Min(seconds, p)));
                        upper.Add(plot.At(qx, Math.Min(seconds, p + half)));
                        lower.Add(plot.At(qx, Math.Max(0, p - half)));
                    }
                    lower.Reverse();
                    c.FillPolygon([.. upper, .. lower], color, 0.18);
                    c.Polyline(centre, color, 2);
                }
            }
            Charts.LegendAt(c, new Pt(PlotWidth + 8, plot.Area.Y), [.. Enumerable.Range(0, h).Select(i => ($"head {i + 1}", Palette.At(i)))]);
            y += 220;
        }

        // attention received by each key time step (mean over the queries of its segment), one strip per head
        var strips = new Box(0, y, PlotWidth, StripsHeight(a));
        var (ml, _, mr, _) = Charts.Margins;
        var area = new Box(ml, y + 24, PlotWidth - ml - mr, 26 * h);
        c.Text(new Pt(area.X, y + 15), "attention each time step receives, per head (mean over queries)", Charts.TitleFont, Rgb.Ink, bold: true);
        int frames = e.Features.Frames;
        var received = new float[h * frames]; // [H, frames]
        var covered = new int[frames];
        for (int si = 0; si < s; si++)
            for (int ti = 0; ti < t; ti++)
            {
                int f0 = (int)Math.Floor(a.Frame(si, ti)), f1 = Math.Min(frames, (int)Math.Ceiling(a.Frame(si, ti + 1)));
                for (int fr = Math.Max(0, f0); fr < f1; fr++)
                {
                    covered[fr]++;
                    for (int hi = 0; hi < h; hi++)
                    {
                        double sum = 0;
                        for (int q = 0; q < t; q++) sum += a.Attention[((si * h + hi) * t + q) * t + ti];
                        received[hi * frames + fr] += (float)(sum / t);
                    }
                }
            }
        for (int hi = 0; hi < h; hi++)
            for (int fr = 0; fr < frames; fr++)
                if (covered[fr] > 0) received[hi * frames + fr] /= covered[fr];
        float max = Math.Max(received.Max(), 1e-6f);
        c.Image(area, ColorMap.Inferno.ToImage(received, h, frames, 0, max));
        for (int hi = 0; hi < h; hi++)
        {
            c.Text(new Pt(area.X - 6, area.Y + (hi + 0.5) * 26 + 4), $"head {hi + 1}", Charts.TickFont, Palette.At(hi), TextAnchor.End, bold: true);
            if (hi > 0) c.Line(new Pt(area.X, area.Y + hi * 26), new Pt(area.Right, area.Y + hi * 26), Rgb.White, 1);
        }
        c.StrokeRect(area, Rgb.Ink, 1);
        Charts.ColorBar(c, new Box(area.Right + 6, area.Y + 10, 8, area.H - 10), ColorMap.Inferno, 0, max, "");
        y += strips.H;

        if (a.HeadWeights is not null)
        {
            var series = new List<Series>();
            for (int hi = 0; hi < h; hi++)
            {
                var pts = new List<Pt>();
                for (int si = 0; si < s; si++)
                {
                    double g = a.HeadWeights[si * h + hi];
                    double from = si == 0 ? 0 : a.SegmentStarts[si] * dt, to = si + 1 < s ? a.SegmentStarts[si + 1] * dt : seconds;
                    pts.Add(new Pt(from, g));
                    pts.Add(new Pt(Math.Min(to, seconds), g));
                }
                series.Add(new Series($"head {hi + 1}", pts, Palette.At(hi)));
            }
            Charts.LineChart(c, new Box(0, y, PlotWidth, 140), series, "calibration weight g per head and 2 s segment", "time (s)", "g", 0, 1, 0, seconds, 8, legendOutside: true);
        }
    }

    /// <summary>Each row of <paramref name="f"/> mapped from its own 1st..99th percentile to [0, 1].</summary>
    internal static float[] ScaleRows(Audio.FeatureMatrix f)
    {
        var scaled = new float[f.Values.Length];
        for (int r = 0; r < f.Bins; r++)
        {
            var row = f.Values.AsSpan(r * f.Frames, f.Frames);
            var (lo, hi) = Range(row.ToArray());
            for (int t = 0; t < f.Frames; t++) scaled[r * f.Frames + t] = (float)((row[t] - lo) / (hi - lo));
        }
        return scaled;
    }

    /// <summary>The 1st and 99th percentiles of <paramref name="values"/> (the colour range of a heatmap).</summary>
    internal static (double Lo, double Hi) Range(float[] values)
    {
        var finite = values.Where(float.IsFinite).ToArray();
        if (finite.Length == 0) return (0, 1);
        Array.Sort(finite);
        double lo = finite[(int)(0.01 * (finite.Length - 1))], hi = finite[(int)Math.Ceiling(0.99 * (finite.Length - 1))];
        return hi > lo ? (lo, hi) : (lo, lo + 1);
    }
}
