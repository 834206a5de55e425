using SerEngine.Backends;

namespace SerEngine.Tests.Engine;

/// <summary>
/// What the fast-backend tests share: random inputs and NaN-filled outputs on the
/// <c>cpu-reference</c> backend, and the norm-wise agreement check of a fast result with the
/// reference one, ‖actual − expected‖₂ ≤ 1e-4·‖expected‖₂ + 1e-6·√n (the fixtures' rule with float32
/// summation-order room), which also fails on any output element left unwritten (still NaN).
/// </summary>
internal static class FastAgreement
{
    /// <summary>The reference backend whose storages the helpers allocate and read.</summary>
    public static readonly Backend Ref = BackendRegistry.Get("cpu-reference");

    /// <summary>Asserts that <paramref name="actual"/> agrees with <paramref name="expected"/> (see the class summary).</summary>
    public static void Agree(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = 0, norm = 0, worstDiff = -1;
        int worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.False(float.IsNaN(actual[i]) && !float.IsNaN(expected[i]), $"{what}: element {i} was not written");
            double d = (double)actual[i] - expected[i];
            diff += d * d;
            norm += (double)expected[i] * expected[i];
            if (!(Math.Abs(d) <= worstDiff) && !double.IsNaN(worstDiff))
            {
                worstDiff = Math.Abs(d);
                worst = i;
            }
        }
        double lhs = Math.Sqrt(diff), rhs = 1e-4 * Math.Sqrt(norm) + 1e-6 * Math.Sqrt(expected.Length);
        Assert.True(lhs <= rhs, $"{what}: ‖fast − reference‖ = {lhs:G4} > {rhs:G4}; worst element {worst}: {actual[worst]} vs {expected[worst]}");
    }

    /// <summary>Asserts that <paramref name="actual"/> holds exactly <paramref name="expected"/>'s floats, bit for bit (a fused op against the ops it replaces).</summary>
    public static void SameBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}[{i}]: {expected[i]:R} expected, {actual[i]:R}");
    }

    /// <summary>The same check on two storages of a CPU backend.</summary>
    public static void Agree(Storage expected, Storage actual, string what) => Agree(Read(expected), Read(actual), what);

    /// <summary><paramref name="n"/> standard normal values.</summary>
    public static float[] RandomArray(Generator rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rng.NextNormal();
        return v;
    }

    /// <summary><paramref name="n"/> standard normal values in a reference storage.</summary>
    public static Storage Random(Generator rng, int n) => ToRef(RandomArray(rng, n));

    /// <summary><paramref name="values"/> copied into a reference storage.</summary>
    public static Storage ToRef(float[] values)
    {
        var s = Ref.Allocate(values.Length, DType.Float32);
        Ref.Write(s, values);
        return s;
    }

    /// <summary>A reference storage of <paramref name="n"/> NaNs: outputs must be overwritten, never read.</summary>
    public static Storage Output(int n)
    {
        var s = Ref.Allocate(n, DType.Float32);
        Ref.Fill(s, n, float.NaN);
        return s;
    }

    /// <summary>The values of a CPU storage.</summary>
    public static float[] Read(Storage s)
    {
        var v = new float[s.Length];
        Ref.Read(s, v);
        return v;
    }
}
