using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Engine;

/// <summary>
/// <see cref="PaddedImage.Write"/> (Conv2dPaddedImage.cs) against the padded image built element by element, on a buffer
/// full of garbage: rows narrower than a vector (the clear-and-copy loop), of exactly 8 floats, and wider ones that end off
/// a multiple of 8 (the vector rows), with and without top, left and slack padding, one to several planes.
/// </summary>
public class PaddedImageTests
{
    [Theory]
    [InlineData(1, 3, 5, 0, 0, 5, 0)]      // narrow rows, no padding
    [InlineData(2, 4, 7, 1, 1, 10, 3)]     // narrow rows, padding and slack
    [InlineData(3, 5, 8, 1, 1, 11, 0)]     // rows of one vector
    [InlineData(2, 6, 9, 2, 3, 13, 16)]    // one vector and one overlapping
    [InlineData(16, 25, 62, 1, 1, 66, 0)]  // FocusCalibrationNet conv2's input as the Winograd path pads it
    [InlineData(4, 6, 15, 1, 1, 18, 5)]    // conv4/conv5-sized rows
    [InlineData(2, 3, 20, 0, 0, 20, 0)]    // no gaps at all
    public unsafe void WriteGivesTheImageWithZerosAround(int planes, int h, int w, int top, int left, int pitch, int slack)
    {
        int rows = top + h + 2, planeLength = rows * pitch, length = planes * planeLength + slack;
        var image = new PaddedImage(planes, h, w, top, left, pitch, planeLength, length);
        var rng = new Random(5);
        var src = Enumerable.Range(0, planes * h * w).Select(_ => (float)rng.NextDouble() + 1f).ToArray();
        var expected = new float[length];
        for (int c = 0; c < planes; c++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    expected[c * planeLength + (i + top) * pitch + left + j] = src[(c * h + i) * w + j];
        var dst = Enumerable.Repeat(float.NaN, length + 8).ToArray(); // garbage everywhere, 8 floats past the end too
        fixed (float* ps = src, pd = dst) image.Write(ps, pd);
        Assert.Equal(expected, dst[..length]);
        Assert.All(dst[length..], v => Assert.True(float.IsNaN(v), "written past the image"));
    }

    /// <summary>
    /// <see cref="PaddedImage.WriteRows"/> writes exactly padded rows [p0, p1) of every plane as <see cref="PaddedImage.Write"/> does and
    /// nothing else: zero rows above and below the data, rows of one vector and of several, the whole plane.
    /// </summary>
    [Theory]
    [InlineData(3, 5, 8, 1, 1, 11, 0, 3)]
    [InlineData(2, 6, 9, 2, 3, 13, 1, 9)]
    [InlineData(16, 25, 62, 1, 1, 68, 0, 15)]   // the first of two row shares of FocusCalibrationNet conv2's input
    [InlineData(16, 25, 62, 1, 1, 68, 12, 29)]  // the second, overlapping the first by the filter's halo
    [InlineData(4, 6, 15, 1, 1, 18, 0, 10)]     // every padded row
    public unsafe void WriteRowsWritesThoseRowsOnly(int planes, int h, int w, int top, int left, int pitch, int p0, int p1)
    {
        int rows = top + h + 3, planeLength = rows * pitch, length = planes * planeLength;
        p1 = Math.Min(p1, rows);
        var image = new PaddedImage(planes, h, w, top, left, pitch, planeLength, length);
        var rng = new Random(6);
        var src = Enumerable.Range(0, planes * h * w).Select(_ => (float)rng.NextDouble() + 1f).ToArray();
        var whole = new float[length];
        var part = Enumerable.Repeat(float.NaN, length).ToArray();
        fixed (float* ps = src, pw = whole, pp = part)
        {
            image.Write(ps, pw);
            image.WriteRows(ps, pp, p0, p1);
        }
        for (int c = 0; c < planes; c++)
            for (int p = 0; p < rows; p++)
                for (int j = 0; j < pitch; j++)
                {
                    int at = c * planeLength + p * pitch + j;
                    if (p >= p0 && p < p1) Assert.Equal(whole[at], part[at]);
                    else Assert.True(float.IsNaN(part[at]), $"plane {c} row {p} column {j} written outside [{p0}, {p1})");
                }
    }
}
