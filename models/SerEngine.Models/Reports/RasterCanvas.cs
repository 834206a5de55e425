namespace SerEngine.Models.Reports;

/// <summary>
/// Paints the <see cref="ICanvas"/> operations into an <see cref="RgbaImage"/> on a white
/// background, <see cref="Scale"/> pixels per canvas unit: rectangles and polygons by pixel
/// centres, lines and dots with a one-pixel soft edge, text with <see cref="BitmapFont"/> scaled by a
/// whole factor, images by nearest neighbour. Good enough for readable figures, not typography.
/// </summary>
internal sealed class RasterCanvas : ICanvas
{
    /// <summary>A white canvas of <paramref name="width"/> × <paramref name="height"/> units at <paramref name="scale"/> pixels per unit.</summary>
    public RasterCanvas(double width, double height, double scale = 1)
    {
        if (!(scale > 0)) throw new ArgumentException($"scale must be positive, got {scale}");
        Width = width;
        Height = height;
        Scale = scale;
        Pixels = new RgbaImage((int)Math.Ceiling(width * scale), (int)Math.Ceiling(height * scale));
        for (int y = 0; y < Pixels.Height; y++)
            for (int x = 0; x < Pixels.Width; x++) Pixels.Set(x, y, Rgb.White);
    }

    /// <inheritdoc/>
    public double Width { get; }

    /// <inheritdoc/>
    public double Height { get; }

    /// <summary>Pixels per canvas unit.</summary>
    public double Scale { get; }

    /// <summary>The painted image.</summary>
    public RgbaImage Pixels { get; }

    /// <inheritdoc/>
    public void FillRect(Box box, Rgb fill, double opacity = 1)
    {
        int x0 = Px(box.X), x1 = Px(box.Right), y0 = Px(box.Y), y1 = Px(box.Bottom);
        if (x1 == x0 && box.W > 0) x1++;
        if (y1 == y0 && box.H > 0) y1++;
        for (int y = Math.Max(0, y0); y < Math.Min(Pixels.Height, y1); y++)
            for (int x = Math.Max(0, x0); x < Math.Min(Pixels.Width, x1); x++) Pixels.Blend(x, y, fill, opacity);
    }

    /// <inheritdoc/>
    public void StrokeRect(Box box, Rgb stroke, double width = 1)
    {
        Line(new Pt(box.X, box.Y), new Pt(box.Right, box.Y), stroke, width);
        Line(new Pt(box.Right, box.Y), new Pt(box.Right, box.Bottom), stroke, width);
        Line(new Pt(box.Right, box.Bottom), new Pt(box.X, box.Bottom), stroke, width);
        Line(new Pt(box.X, box.Bottom), new Pt(box.X, box.Y), stroke, width);
    }

    /// <inheritdoc/>
    public void Line(Pt a, Pt b, Rgb stroke, double width = 1)
    {
        double ax = a.X * Scale, ay = a.Y * Scale, bx = b.X * Scale, by = b.Y * Scale;
        double half = Math.Max(0.5, width * Scale / 2);
        int x0 = (int)Math.Floor(Math.Min(ax, bx) - half - 1), x1 = (int)Math.Ceiling(Math.Max(ax, bx) + half + 1);
        int y0 = (int)Math.Floor(Math.Min(ay, by) - half - 1), y1 = (int)Math.Ceiling(Math.Max(ay, by) + half + 1);
        double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
        for (int y = Math.Max(0, y0); y <= Math.Min(Pixels.Height - 1, y1); y++)
            for (int x = Math.Max(0, x0); x <= Math.Min(Pixels.Width - 1, x1); x++)
            {
                double px = x + 0.5, py = y + 0.5;
                double t = len2 > 0 ? Math.Clamp(((px - ax) * dx + (py - ay) * dy) / len2, 0, 1) : 0;
                double ex = ax + t * dx - px, ey = ay + t * dy - py;
                double cover = half + 0.5 - Math.Sqrt(ex * ex + ey * ey);
                if (cover > 0) Pixels.Blend(x, y, stroke, Math.Min(1, cover));
            }
    }

    /// <inheritdoc/>
    public void Polyline(IReadOnlyList<Pt> points, Rgb stroke, double width = 1.5)
    {
        for (int i = 1; i < points.Count; i++) Line(points[i - 1], points[i], stroke, width);
    }

    /// <inheritdoc/>
    public void FillPolygon(IReadOnlyList<Pt> points, Rgb fill, double opacity = 1)
    {
        if (points.Count < 3) return;
        double top = points.Min(p => p.Y) * Scale, bottom = points.Max(p => p.Y) * Scale;
        var crossings = new List<double>();
        for (int y = Math.Max(0, (int)Math.Floor(top)); y < Math.Min(Pixels.Height, (int)Math.Ceiling(bottom)); y++)
        {
            double sy = y + 0.5;
            crossings.Clear();
            for (int i = 0; i < points.Count; i++)
            {
                var p = points[i];
                var q = points[(i + 1) % points.Count];
                double py = p.Y * Scale, qy = q.Y * Scale;
                if ((py <= sy && qy > sy) || (qy <= sy && py > sy))
                    crossings.Add(p.X * Scale + (sy - py) / (qy - py) * (q.X - p.X) * Scale);
            }
            crossings.Sort();
            for (int k = 0; k + 1 < crossings.Count; k += 2)
                for (int x = Math.Max(0, (int)Math.Ceiling(crossings[k] - 0.5)); x < Math.Min(Pixels.Width, (int)Math.Ceiling(crossings[k + 1] - 0.5)); x++)
                    Pixels.Blend(x, y, fill, opacity);
        }
    }

    /// <inheritdoc/>
    public void Dot(Pt centre, double radius, Rgb fill)
    {
        double cx = centre.X * Scale, cy = centre.Y * Scale, r = radius * Scale;
        for (int y = (int)Math.Floor(cy - r - 1); y <= (int)Math.Ceiling(cy + r + 1); y++)
            for (int x = (int)Math.Floor(cx - r - 1); x <= (int)Math.Ceiling(cx + r + 1); x++)
            {
                double d = Math.Sqrt((x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy));
                double cover = r + 0.5 - d;
                if (cover > 0) Pixels.Blend(x, y, fill, Math.Min(1, cover));
            }
    }

    /// <summary>Whole-pixel glyph magnification for a font size (at least 1).</summary>
    public int GlyphScale(double size) => Math.Max(1, (int)Math.Round(size * Scale / BitmapFont.LineHeight * 0.9));

    /// <inheritdoc/>
    public double TextWidth(string text, double size)
    {
        int k = GlyphScale(size);
        return (text.Length * BitmapFont.Advance * k) / Scale;
    }

    /// <inheritdoc/>
    public void Text(Pt at, string text, double size, Rgb color, TextAnchor anchor = TextAnchor.Start, bool bold = false, bool vertical = false)
    {
        int k = GlyphScale(size);
        int advance = BitmapFont.Advance * k, width = text.Length * advance - k;
        int shift = anchor switch { TextAnchor.Middle => -width / 2, TextAnchor.End => -width, _ => 0 };
        double ox = at.X * Scale, oy = at.Y * Scale;
        for (int i = 0; i < text.Length; i++)
            for (int row = 0; row < BitmapFont.GlyphHeight; row++)
                for (int col = 0; col < BitmapFont.GlyphWidth + (bold ? 1 : 0); col++)
                {
                    bool on = (col < BitmapFont.GlyphWidth && BitmapFont.IsSet(text[i], col, row))
                        || (bold && col > 0 && BitmapFont.IsSet(text[i], col - 1, row));
                    if (!on) continue;
                    int u = shift + i * advance + col * k;          // along the text
                    int v = (row - BitmapFont.GlyphHeight + BitmapFont.Drop(text[i])) * k; // down from the baseline
                    for (int sy = 0; sy < k; sy++)
                        for (int sx = 0; sx < k; sx++)
                        {
                            int x = vertical ? (int)Math.Round(ox) + v + sy : (int)Math.Round(ox) + u + sx;
                            int y = vertical ? (int)Math.Round(oy) - u - sx : (int)Math.Round(oy) + v + sy;
                            Pixels.Blend(x, y, color, 1);
                        }
                }
    }

    /// <inheritdoc/>
    public void Image(Box box, RgbaImage image)
    {
        int x0 = Px(box.X), x1 = Px(box.Right), y0 = Px(box.Y), y1 = Px(box.Bottom);
        for (int y = Math.Max(0, y0); y < Math.Min(Pixels.Height, y1); y++)
        {
            int sy = Math.Clamp((int)((y + 0.5 - y0) / (y1 - y0) * image.Height), 0, image.Height - 1);
            for (int x = Math.Max(0, x0); x < Math.Min(Pixels.Width, x1); x++)
            {
                int sx = Math.Clamp((int)((x + 0.5 - x0) / (x1 - x0) * image.Width), 0, image.Width - 1);
                int i = (sy * image.Width + sx) * 4;
                Pixels.Blend(x, y, new Rgb(image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]), image.Pixels[i + 3] / 255.0);
            }
        }
    }

    private int Px(double v) => (int)Math.Round(v * Scale);
}
