using System.Globalization;

namespace SerEngine.Models.Reports;

/// <summary>An opaque 8-bit sRGB colour.</summary>
/// <param name="R">Red 0..255.</param>
/// <param name="G">Green 0..255.</param>
/// <param name="B">Blue 0..255.</param>
internal readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>Parses <c>#rrggbb</c>.</summary>
    public static Rgb Hex(string hex)
    {
        if (hex.Length != 7 || hex[0] != '#') throw new ArgumentException($"colour '{hex}' is not #rrggbb");
        int v = int.Parse(hex.AsSpan(1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return new Rgb((byte)(v >> 16), (byte)(v >> 8), (byte)v);
    }

    /// <summary><c>#rrggbb</c>, as SVG and CSS take it.</summary>
    public string ToHex() => string.Create(CultureInfo.InvariantCulture, $"#{R:x2}{G:x2}{B:x2}");

    /// <summary>Linear blend: <paramref name="t"/> = 0 gives this colour, 1 gives <paramref name="other"/>.</summary>
    public Rgb Lerp(Rgb other, double t) => new(Mix(R, other.R, t), Mix(G, other.G, t), Mix(B, other.B, t));

    /// <summary>Relative luminance in 0..1 (Rec. 709 weights on the 8-bit values), to pick a readable text colour.</summary>
    public double Luminance => (0.2126 * R + 0.7152 * G + 0.0722 * B) / 255.0;

    private static byte Mix(byte a, byte b, double t) => (byte)Math.Clamp(Math.Round(a + (b - a) * t), 0, 255);

    /// <summary>Black.</summary>
    public static Rgb Black => new(0, 0, 0);

    /// <summary>White.</summary>
    public static Rgb White => new(255, 255, 255);

    /// <summary>Dark grey for axes and text.</summary>
    public static Rgb Ink => new(0x33, 0x33, 0x33);

    /// <summary>Light grey for grid lines.</summary>
    public static Rgb Grid => new(0xdd, 0xdd, 0xdd);
}

/// <summary>
/// A colour map from [0, 1] to colours, computed by piecewise-linear interpolation between
/// equally spaced anchor colours (<see cref="Viridis"/> uses nine samples of matplotlib's viridis).
/// </summary>
internal sealed class ColorMap
{
    private readonly Rgb[] _anchors;

    /// <summary>A map through <paramref name="anchors"/> (at least two), equally spaced over [0, 1].</summary>
    public ColorMap(string name, params Rgb[] anchors)
    {
        if (anchors.Length < 2) throw new ArgumentException($"colour map '{name}' needs at least two anchors, got {anchors.Length}");
        Name = name;
        _anchors = anchors;
    }

    /// <summary>The map's name.</summary>
    public string Name { get; }

    /// <summary>Perceptually uniform dark blue → green → yellow (for spectrograms and counts).</summary>
    public static ColorMap Viridis { get; } = new("viridis",
        Rgb.Hex("#440154"), Rgb.Hex("#472d7b"), Rgb.Hex("#3b528b"), Rgb.Hex("#2c728e"), Rgb.Hex("#21918c"),
        Rgb.Hex("#28ae80"), Rgb.Hex("#5ec962"), Rgb.Hex("#addc30"), Rgb.Hex("#fde725"));

    /// <summary>Black → purple → orange → pale yellow (for attention weights).</summary>
    public static ColorMap Inferno { get; } = new("inferno",
        Rgb.Hex("#000004"), Rgb.Hex("#420a68"), Rgb.Hex("#932667"), Rgb.Hex("#dd513a"), Rgb.Hex("#fca50a"), Rgb.Hex("#fcffa4"));

    /// <summary>White → blue (for the confusion matrix).</summary>
    public static ColorMap Blues { get; } = new("blues", Rgb.Hex("#f7fbff"), Rgb.Hex("#c6dbef"), Rgb.Hex("#6baed6"), Rgb.Hex("#2171b5"), Rgb.Hex("#08306b"));

    /// <summary>The colour at <paramref name="t"/> (clamped to [0, 1]; NaN maps to 0).</summary>
    public Rgb At(double t)
    {
        if (double.IsNaN(t) || t < 0) t = 0;
        if (t > 1) t = 1;
        double pos = t * (_anchors.Length - 1);
        int i = Math.Min((int)pos, _anchors.Length - 2);
        return _anchors[i].Lerp(_anchors[i + 1], pos - i);
    }

    /// <summary>Colours <paramref name="values"/> [rows, cols] (row 0 at the top of the image) scaled from [lo, hi] to [0, 1].</summary>
    public RgbaImage ToImage(float[] values, int rows, int cols, double lo, double hi, bool flipRows = false)
    {
        if (values.Length != rows * cols) throw new ArgumentException($"{values.Length} values do not fill [{rows}, {cols}]");
        var image = new RgbaImage(cols, rows);
        double span = hi > lo ? hi - lo : 1;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                image.Set(c, flipRows ? rows - 1 - r : r, At((values[r * cols + c] - lo) / span));
        return image;
    }
}

/// <summary>Distinct colours for lines and bars (Tableau 10).</summary>
internal static class Palette
{
    private static readonly Rgb[] Colors =
    [
        Rgb.Hex("#4e79a7"), Rgb.Hex("#f28e2b"), Rgb.Hex("#e15759"), Rgb.Hex("#76b7b2"), Rgb.Hex("#59a14f"),
        Rgb.Hex("#edc948"), Rgb.Hex("#b07aa1"), Rgb.Hex("#ff9da7"), Rgb.Hex("#9c755f"), Rgb.Hex("#bab0ac"),
    ];

    /// <summary>The <paramref name="i"/>-th colour (cycling).</summary>
    public static Rgb At(int i) => Colors[((i % Colors.Length) + Colors.Length) % Colors.Length];
}
