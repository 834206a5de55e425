using System.Globalization;
using System.Text;

namespace SerEngine.Models.Reports;

/// <summary>
/// Builds one self-contained <c>&lt;svg&gt;</c> element: shapes and text as SVG elements, raster
/// images as <c>data:image/png;base64</c> URIs, no scripts and no external references. Numbers are
/// written with invariant culture and at most two decimals.
/// </summary>
internal sealed class SvgCanvas : ICanvas
{
    private readonly StringBuilder _body = new();

    /// <summary>An empty drawing of <paramref name="width"/> × <paramref name="height"/> units.</summary>
    public SvgCanvas(double width, double height)
    {
        Width = width;
        Height = height;
    }

    /// <inheritdoc/>
    public double Width { get; }

    /// <inheritdoc/>
    public double Height { get; }

    /// <summary>Text for the element's &lt;title&gt; (shown as a tooltip; read by screen readers).</summary>
    public string? Title { get; set; }

    /// <summary>Escapes <c>&amp; &lt; &gt; " '</c> for XML text and attribute values; drops characters XML 1.0 forbids.</summary>
    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default:
                    if (c >= 0x20 || c is '\t' or '\n' or '\r') sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>A number as SVG wants it: invariant culture, up to two decimals.</summary>
    public static string Num(double v) => double.IsFinite(v) ? Math.Round(v, 2).ToString("0.##", CultureInfo.InvariantCulture) : "0";

    /// <inheritdoc/>
    public void FillRect(Box box, Rgb fill, double opacity = 1) =>
        _body.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Num(box.X)}\" y=\"{Num(box.Y)}\" width=\"{Num(box.W)}\" height=\"{Num(box.H)}\" fill=\"{fill.ToHex()}\"{Opacity("fill-opacity", opacity)}/>\n");

    /// <inheritdoc/>
    public void StrokeRect(Box box, Rgb stroke, double width = 1) =>
        _body.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Num(box.X)}\" y=\"{Num(box.Y)}\" width=\"{Num(box.W)}\" height=\"{Num(box.H)}\" fill=\"none\" stroke=\"{stroke.ToHex()}\" stroke-width=\"{Num(width)}\"/>\n");

    /// <inheritdoc/>
    public void Line(Pt a, Pt b, Rgb stroke, double width = 1) =>
        _body.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Num(a.X)}\" y1=\"{Num(a.Y)}\" x2=\"{Num(b.X)}\" y2=\"{Num(b.Y)}\" stroke=\"{stroke.ToHex()}\" stroke-width=\"{Num(width)}\"/>\n");

    /// <inheritdoc/>
    public void Polyline(IReadOnlyList<Pt> points, Rgb stroke, double width = 1.5)
    {
        if (points.Count == 0) return;
        _body.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{Points(points)}\" fill=\"none\" stroke=\"{stroke.ToHex()}\" stroke-width=\"{Num(width)}\" stroke-linejoin=\"round\"/>\n");
    }

    /// <inheritdoc/>
    public void FillPolygon(IReadOnlyList<Pt> points, Rgb fill, double opacity = 1)
    {
        if (points.Count < 3) return;
        _body.Append(CultureInfo.InvariantCulture, $"<polygon points=\"{Points(points)}\" fill=\"{fill.ToHex()}\" fill-rule=\"evenodd\"{Opacity("fill-opacity", opacity)}/>\n");
    }

    /// <inheritdoc/>
    public void Dot(Pt centre, double radius, Rgb fill) =>
        _body.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{Num(centre.X)}\" cy=\"{Num(centre.Y)}\" r=\"{Num(radius)}\" fill=\"{fill.ToHex()}\"/>\n");

    /// <inheritdoc/>
    public void Text(Pt at, string text, double size, Rgb color, TextAnchor anchor = TextAnchor.Start, bool bold = false, bool vertical = false)
    {
        string a = anchor switch { TextAnchor.Middle => "middle", TextAnchor.End => "end", _ => "start" };
        string rotate = vertical ? $" transform=\"rotate(-90 {Num(at.X)} {Num(at.Y)})\"" : "";
        string weight = bold ? " font-weight=\"bold\"" : "";
        _body.Append(CultureInfo.InvariantCulture,
            $"<text x=\"{Num(at.X)}\" y=\"{Num(at.Y)}\" font-size=\"{Num(size)}\" fill=\"{color.ToHex()}\" text-anchor=\"{a}\"{weight}{rotate}>{Escape(text)}</text>\n");
    }

    /// <inheritdoc/>
    public void Image(Box box, RgbaImage image) =>
        _body.Append(CultureInfo.InvariantCulture,
            $"<image x=\"{Num(box.X)}\" y=\"{Num(box.Y)}\" width=\"{Num(box.W)}\" height=\"{Num(box.H)}\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"{PngEncoder.DataUri(image)}\"/>\n");

    /// <summary>The finished <c>&lt;svg&gt;</c> element for inline use in HTML (no namespace attribute).</summary>
    public override string ToString() => ToElement(withNamespace: false);

    /// <summary>The finished <c>&lt;svg&gt;</c> element; <paramref name="withNamespace"/> adds the SVG namespace a standalone file needs.</summary>
    public string ToElement(bool withNamespace)
    {
        var sb = new StringBuilder();
        sb.Append(withNamespace ? "<svg xmlns=\"http://www.w3.org/2000/svg\"" : "<svg");
        sb.Append(CultureInfo.InvariantCulture,
            $" width=\"{Num(Width)}\" height=\"{Num(Height)}\" viewBox=\"0 0 {Num(Width)} {Num(Height)}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n");
        if (Title is not null) sb.Append("<title>").Append(Escape(Title)).Append("</title>\n");
        sb.Append(_body);
        sb.Append("</svg>");
        return sb.ToString();
    }

    /// <summary>A standalone SVG file's text (XML declaration + element).</summary>
    public string ToDocument() => "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + ToElement(withNamespace: true) + "\n";

    private static string Opacity(string name, double opacity) => opacity >= 1 ? "" : $" {name}=\"{Num(Math.Max(0, opacity))}\"";

    private static string Points(IReadOnlyList<Pt> points) => string.Join(" ", points.Select(p => Num(p.X) + "," + Num(p.Y)));
}
