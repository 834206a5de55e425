namespace SerEngine.Models.Reports;

/// <summary>An 8-bit RGBA pixel buffer, row-major from the top-left corner (<c>[Height, Width, 4]</c>).</summary>
internal sealed class RgbaImage
{
    /// <summary>A transparent-black image of <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    public RgbaImage(int width, int height)
    {
        if (width < 1 || height < 1 || (long)width * height > 1 << 26)
            throw new ArgumentException($"image size {width}×{height} is outside 1..2^26 pixels");
        Width = width;
        Height = height;
        Pixels = new byte[width * height * 4];
    }

    /// <summary>Columns.</summary>
    public int Width { get; }

    /// <summary>Rows.</summary>
    public int Height { get; }

    /// <summary>RGBA bytes, <c>[Height, Width, 4]</c>.</summary>
    public byte[] Pixels { get; }

    /// <summary>Sets pixel (x, y) to an opaque colour.</summary>
    public void Set(int x, int y, Rgb c)
    {
        int i = (y * Width + x) * 4;
        Pixels[i] = c.R;
        Pixels[i + 1] = c.G;
        Pixels[i + 2] = c.B;
        Pixels[i + 3] = 255;
    }

    /// <summary>Blends <paramref name="c"/> over pixel (x, y) with <paramref name="alpha"/> in [0, 1]; outside the image nothing happens.</summary>
    public void Blend(int x, int y, Rgb c, double alpha)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height || alpha <= 0) return;
        if (alpha >= 1)
        {
            Set(x, y, c);
            return;
        }
        int i = (y * Width + x) * 4;
        Pixels[i] = (byte)Math.Round(Pixels[i] + (c.R - Pixels[i]) * alpha);
        Pixels[i + 1] = (byte)Math.Round(Pixels[i + 1] + (c.G - Pixels[i + 1]) * alpha);
        Pixels[i + 2] = (byte)Math.Round(Pixels[i + 2] + (c.B - Pixels[i + 2]) * alpha);
        Pixels[i + 3] = (byte)Math.Round(Pixels[i + 3] + (255 - Pixels[i + 3]) * alpha);
    }

    /// <summary>The colour of pixel (x, y) (alpha dropped).</summary>
    public Rgb Get(int x, int y)
    {
        int i = (y * Width + x) * 4;
        return new Rgb(Pixels[i], Pixels[i + 1], Pixels[i + 2]);
    }
}
