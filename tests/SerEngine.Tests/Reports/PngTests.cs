using System.Text;
using SerEngine.Models.Reports;

namespace SerEngine.Tests.Reports;

/// <summary>The PNG encoder (read back by an independent reader) and the raster canvas.</summary>
public sealed class PngTests
{
    [Fact]
    public void Crc32MatchesTheStandardCheckValue()
    {
        var check = Encoding.ASCII.GetBytes("123456789");
        Assert.Equal(0xCBF43926u, PngEncoder.Crc32(check));
        Assert.Equal(PngReader.BitwiseCrc(check), PngEncoder.Crc32(check));
        Assert.Equal(0u, PngEncoder.Crc32([]));
    }

    [Fact]
    public void EncodedImageHasValidChunksAndDecodesToTheSamePixels()
    {
        var image = new RgbaImage(7, 5); // odd sizes; varied colours and alphas
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 7; x++)
            {
                int i = (y * 7 + x) * 4;
                image.Pixels[i] = (byte)(x * 36);
                image.Pixels[i + 1] = (byte)(y * 60);
                image.Pixels[i + 2] = (byte)((x * y * 17) % 256);
                image.Pixels[i + 3] = (byte)(255 - x * y * 9);
            }
        var png = PngEncoder.Encode(image);
        var chunks = PngReader.Chunks(png);
        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));
        Assert.All(chunks, c => Assert.Equal(c.ComputedCrc, c.StoredCrc));
        Assert.Equal(new byte[] { 0, 0, 0, 7, 0, 0, 0, 5, 8, 6, 0, 0, 0 }, chunks[0].Data);
        Assert.Empty(chunks[2].Data);
        var back = PngReader.Decode(png);
        Assert.Equal(7, back.Width);
        Assert.Equal(5, back.Height);
        Assert.Equal(image.Pixels, back.Pixels);

        png[40] ^= 0x01; // a flipped bit inside IDAT breaks its CRC
        Assert.Throws<InvalidDataException>(() => PngReader.Decode(png));
    }

    [Fact]
    public void WriteFileIsAtomicAndLeavesNoTempFile()
    {
        var dir = Directory.CreateTempSubdirectory("ser-png").FullName;
        try
        {
            var path = Path.Combine(dir, "a.png");
            PngEncoder.WriteFile(path, new RgbaImage(3, 2));
            Assert.Equal(3, PngReader.Decode(File.ReadAllBytes(path)).Width);
            Assert.Equal(["a.png"], Directory.GetFiles(dir).Select(Path.GetFileName));
            Assert.StartsWith("data:image/png;base64,iVBORw0KGgo", PngEncoder.DataUri(new RgbaImage(1, 1)), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RasterCanvasFillsRectanglesBlendsAndScales()
    {
        var c = new RasterCanvas(20, 10, scale: 2);
        Assert.Equal(40, c.Pixels.Width);
        Assert.Equal(20, c.Pixels.Height);
        Assert.Equal(Rgb.White, c.Pixels.Get(0, 0));
        c.FillRect(new Box(2, 1, 3, 2), Rgb.Hex("#ff0000"));        // pixels x 4..9, y 2..5
        Assert.Equal(Rgb.Hex("#ff0000"), c.Pixels.Get(4, 2));
        Assert.Equal(Rgb.Hex("#ff0000"), c.Pixels.Get(9, 5));
        Assert.Equal(Rgb.White, c.Pixels.Get(10, 5));
        Assert.Equal(Rgb.White, c.Pixels.Get(4, 6));
        c.FillRect(new Box(10, 0, 5, 5), Rgb.Black, 0.5);           // half black over white
        Assert.Equal(new Rgb(128, 128, 128), c.Pixels.Get(25, 3));
        var small = new RgbaImage(2, 1);
        small.Set(0, 0, Rgb.Hex("#00ff00"));
        small.Set(1, 0, Rgb.Hex("#0000ff"));
        c.Image(new Box(0, 6, 4, 2), small);                          // 8×4 pixels, nearest neighbour
        Assert.Equal(Rgb.Hex("#00ff00"), c.Pixels.Get(3, 13));
        Assert.Equal(Rgb.Hex("#0000ff"), c.Pixels.Get(4, 13));
    }

    [Fact]
    public void RasterLinesAndTextLandWhereTheyShould()
    {
        var c = new RasterCanvas(100, 60);
        c.Line(new Pt(10, 10), new Pt(90, 10), Rgb.Black, 2);
        Assert.Equal(Rgb.Black, c.Pixels.Get(50, 9));
        Assert.Equal(Rgb.White, c.Pixels.Get(50, 14));

        c.Text(new Pt(10, 40), "I", 9, Rgb.Black); // glyph scale 1: 'I' is a vertical bar at column 2 from y 33 to 39
        Assert.Equal(1, c.GlyphScale(9));
        Assert.Equal(Rgb.Black, c.Pixels.Get(12, 36));
        Assert.Equal(Rgb.Black, c.Pixels.Get(11, 33)); // top serif
        Assert.Equal(Rgb.White, c.Pixels.Get(10, 36));
        Assert.Equal(Rgb.White, c.Pixels.Get(12, 40)); // nothing below the baseline

        var v = new RasterCanvas(40, 60);
        v.Text(new Pt(20, 50), "-----", 9, Rgb.Black, vertical: true); // reads upwards: dashes become a vertical run 4 pixels left of x 20
        int dark = Enumerable.Range(0, 60).Count(y => v.Pixels.Get(16, y) == Rgb.Black);
        Assert.True(dark == 25, $"{dark} dark pixels in the vertical text's column");
        Assert.Equal(Rgb.White, v.Pixels.Get(16, 52)); // starts at the anchor and goes up
    }
}
