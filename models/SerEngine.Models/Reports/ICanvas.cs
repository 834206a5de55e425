namespace SerEngine.Models.Reports;

/// <summary>How text sits on its anchor point horizontally.</summary>
internal enum TextAnchor
{
    /// <summary>The point is the text's left end.</summary>
    Start,

    /// <summary>The point is the text's centre.</summary>
    Middle,

    /// <summary>The point is the text's right end.</summary>
    End,
}

/// <summary>A point in canvas units (y grows downwards).</summary>
/// <param name="X">Horizontal position.</param>
/// <param name="Y">Vertical position.</param>
internal readonly record struct Pt(double X, double Y);

/// <summary>A rectangle in canvas units.</summary>
/// <param name="X">Left.</param>
/// <param name="Y">Top.</param>
/// <param name="W">Width.</param>
/// <param name="H">Height.</param>
internal readonly record struct Box(double X, double Y, double W, double H)
{
    /// <summary>Right edge.</summary>
    public double Right => X + W;

    /// <summary>Bottom edge.</summary>
    public double Bottom => Y + H;
}

/// <summary>
/// The few drawing operations the charts use, in canvas units with the origin at the top left.
/// <see cref="SvgCanvas"/> writes them as SVG elements, <see cref="RasterCanvas"/> paints pixels,
/// so one chart routine gives both an SVG and a PNG figure.
/// </summary>
internal interface ICanvas
{
    /// <summary>Width in canvas units.</summary>
    double Width { get; }

    /// <summary>Height in canvas units.</summary>
    double Height { get; }

    /// <summary>A filled rectangle; <paramref name="opacity"/> in [0, 1].</summary>
    void FillRect(Box box, Rgb fill, double opacity = 1);

    /// <summary>A rectangle's outline.</summary>
    void StrokeRect(Box box, Rgb stroke, double width = 1);

    /// <summary>A straight line.</summary>
    void Line(Pt a, Pt b, Rgb stroke, double width = 1);

    /// <summary>An open polyline through <paramref name="points"/>.</summary>
    void Polyline(IReadOnlyList<Pt> points, Rgb stroke, double width = 1.5);

    /// <summary>A filled polygon (even-odd rule).</summary>
    void FillPolygon(IReadOnlyList<Pt> points, Rgb fill, double opacity = 1);

    /// <summary>A filled circle.</summary>
    void Dot(Pt centre, double radius, Rgb fill);

    /// <summary>
    /// One line of text whose baseline starts (or centres, or ends) at <paramref name="at"/>;
    /// <paramref name="vertical"/> turns it 90° anticlockwise (reading upwards) about that point.
    /// </summary>
    void Text(Pt at, string text, double size, Rgb color, TextAnchor anchor = TextAnchor.Start, bool bold = false, bool vertical = false);

    /// <summary>Width of <paramref name="text"/> at <paramref name="size"/> as this canvas draws it, in figure units.</summary>
    double TextWidth(string text, double size) => TextMetrics.Width(text, size);

    /// <summary>A raster image stretched over <paramref name="box"/> with nearest-neighbour sampling.</summary>
    void Image(Box box, RgbaImage image);
}

/// <summary>Text measuring shared by both canvases (a fixed advance per character).</summary>
internal static class TextMetrics
{
    /// <summary>Approximate width of <paramref name="text"/> at font size <paramref name="size"/>.</summary>
    public static double Width(string text, double size) => text.Length * size * 0.62;

    /// <summary>
    /// <paramref name="text"/> shortened with "..." to fit <paramref name="width"/> at <paramref name="size"/>
    /// as <paramref name="canvas"/> draws it (default: <see cref="Width"/>): its end is cut, or its start with
    /// <paramref name="keepEnd"/> (for file paths, whose name is at the end).
    /// </summary>
    public static string Fit(string text, double size, double width, bool keepEnd = false, ICanvas? canvas = null)
    {
        double Measure(string t) => canvas?.TextWidth(t, size) ?? Width(t, size);
        if (Measure(text) <= width) return text;
        for (int keep = text.Length - 1; keep > 0; keep--)
        {
            var cut = keepEnd ? "..." + text[^keep..] : text[..keep] + "...";
            if (Measure(cut) <= width) return cut;
        }
        return "...";
    }
}
