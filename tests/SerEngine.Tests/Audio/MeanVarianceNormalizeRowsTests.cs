using SerEngine.Audio;

namespace SerEngine.Tests.Audio;

public class MeanVarianceNormalizeRowsTests
{
    // per-row normalisation runs four rows at a time: every row must keep the one-row-at-a-time bits
    [Theory]
    [InlineData(7, 301)]
    [InlineData(200, 5)]
    [InlineData(3, 40)]
    [InlineData(4, 1)]
    public void FourRowsAtATimeGiveTheRowByRowBits(int rows, int cols)
    {
        var rng = new Random(rows * 1000 + cols);
        var v = new double[rows * cols];
        for (int i = 0; i < v.Length; i++) v[i] = Math.Log(1.0 + 1e3 * rng.NextDouble() * rng.NextDouble());
        for (int c = 0; c < cols; c++) v[cols + c] = 2.5; // a constant row: std 0, eps applies
        var got = Cepstrum.MeanVarianceNormalize(new DoubleMatrix(v, rows, cols));
        for (int r = 0; r < rows; r++)
        {
            var row = v.AsSpan(r * cols, cols);
            double mean = 0;
            foreach (double x in row) mean += x;
            mean /= cols;
            double var = 0;
            foreach (double x in row) var += (x - mean) * (x - mean);
            double inv = 1.0 / Math.Max(Math.Sqrt(var / cols), 1e-5);
            for (int c = 0; c < cols; c++)
                Assert.Equal(BitConverter.DoubleToInt64Bits((row[c] - mean) * inv), BitConverter.DoubleToInt64Bits(got.Values[r * cols + c]));
        }
    }
}
