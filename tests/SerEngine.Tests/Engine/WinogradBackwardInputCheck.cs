using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The backward-input check the F(2×2, ·) Winograd test classes share: for each shape the adjoint takes 2×2 tiles, the
/// result agrees with the <c>cpu-reference</c> loops at the shared norm-wise tolerance, and it has the same bits with 256-bit
/// and 512-bit products on 1–3 threads.
/// </summary>
internal static class WinogradBackwardInputCheck
{
    public static void AgreesAndKeepsItsBits(IEnumerable<Conv2dGeometry> shapes, ulong seed, string what)
    {
        var rng = new Generator(seed);
        foreach (var g in shapes)
        {
            Assert.Equal(2, Conv2dWinograd.TileSize(Conv2dAdjoint.Geometry(g), adjoint: true));
            var w = RandomArray(rng, g.K * g.C * g.R * g.S);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            var expected = Output(g.N * g.C * g.H * g.W);
            Ref.Conv2dBackwardInput(ToRef(dy), ToRef(w), expected, g);
            float[] BackwardInput(int threads, bool wide)
            {
                var dx = new float[g.N * g.C * g.H * g.W];
                Array.Fill(dx, float.NaN);
                Conv2dWinograd.BackwardInput(dy, w, dx, g, threads, wide);
                return dx;
            }
            var dx2 = BackwardInput(2, wide: true);
            Agree(Read(expected), dx2, $"{what} {g}");
            Assert.Equal(dx2, BackwardInput(2, wide: false));
            Assert.Equal(dx2, BackwardInput(1, wide: true));
            Assert.Equal(dx2, BackwardInput(3, wide: false));
            Assert.Equal(dx2, BackwardInput(3, wide: true));
        }
    }
}
