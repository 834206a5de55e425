using System.Globalization;
using SerEngine.Backends;

namespace SerEngine.Benchmarks.Lab;

/// <summary>Compares a device result with the reference's.</summary>
internal static class LabCompare
{
    /// <summary>Fills the padding after device float outputs (a value no kernel computes by chance).</summary>
    public const float FloatSentinel = 777.25f;

    /// <summary>Fills Int32 device outputs before the run, and their padding.</summary>
    public const int IntSentinel = -123_456_789;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// The relative error of a result buffer, max |device − reference| / max |reference| (a NaN where
    /// the reference has none, or a different infinity, counts as infinite), a reason when it must
    /// fail whatever the tolerance (the padding after it was written, an Int32 element differs, a NaN
    /// or infinity the reference does not have), and the worst element.
    /// </summary>
    public static (double RelError, string? Failure, string Worst) Compare(LabBuffer buffer, Storage reference, Storage device)
    {
        int n = buffer.Length;
        if (buffer.DType == DType.Int32)
        {
            int[] want = new int[reference.Length], got = new int[device.Length];
            reference.Backend.Read(reference, want);
            device.Backend.Read(device, got);
            for (int i = n; i < got.Length; i++)
                if (got[i] != IntSentinel) return (double.PositiveInfinity, $"{buffer.Name}: wrote past its end (element {i} of a buffer of {n})", "");
            int differ = 0, first = -1;
            for (int i = 0; i < n; i++)
            {
                if (got[i] == want[i]) continue;
                differ++;
                if (first < 0) first = i;
            }
            return differ == 0 ? (0, null, "")
                : (double.PositiveInfinity, $"{buffer.Name}: {differ} of {n} elements differ, first at {first}: {got[first]}, reference {want[first]}", "");
        }

        float[] w = new float[reference.Length], g = new float[device.Length];
        reference.Backend.Read(reference, w);
        device.Backend.Read(device, g);
        for (int i = n; i < g.Length; i++)
            if (BitConverter.SingleToInt32Bits(g[i]) != BitConverter.SingleToInt32Bits(FloatSentinel))
                return (double.PositiveInfinity, $"{buffer.Name}: wrote past its end (element {i} of a buffer of {n})", "");
        double scale = 0, worst = 0;
        int worstAt = -1;
        for (int i = 0; i < n; i++)
            if (float.IsFinite(w[i])) scale = Math.Max(scale, Math.Abs(w[i]));
        for (int i = 0; i < n; i++)
        {
            double diff;
            if (float.IsNaN(w[i]) || float.IsNaN(g[i])) diff = float.IsNaN(w[i]) && float.IsNaN(g[i]) ? 0 : double.PositiveInfinity;
            else if (float.IsInfinity(w[i]) || float.IsInfinity(g[i])) diff = w[i] == g[i] ? 0 : double.PositiveInfinity;
            else diff = Math.Abs((double)g[i] - w[i]);
            if (diff > worst || worstAt < 0 && diff > 0)
            {
                worst = diff;
                worstAt = i;
            }
        }
        double rel = worst == 0 ? 0 : worst / Math.Max(scale, 1e-30);
        string where = worstAt < 0 ? "" : $"{buffer.Name}: element {worstAt} of {n} is {g[worstAt].ToString("R", Inv)}, reference {w[worstAt].ToString("R", Inv)}";
        return (rel, double.IsPositiveInfinity(rel) ? where : null, where);
    }
}
