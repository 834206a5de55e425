namespace SerEngine.Backends.Cpu;

// Amplitude to decibels, as torchaudio.functional.amplitude_to_DB for one matrix of n elements,
// in double:
//   v[i] = multiplier·log10(max(x[i], amin)) − multiplier·dbMultiplier
//   topDb ≥ 0: y[i] = max(v[i], max_j v[j] − topDb); else y[i] = v[i]
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void AmplitudeToDb(Storage x, Storage y, int n, float multiplier, float amin, float dbMultiplier, float topDb)
    {
        CheckAmplitudeToDbArgs(x, y, n, amin);
        float[] xv = F(x), yv = F(y); // [n]
        var v = new double[n];
        double offset = (double)multiplier * dbMultiplier, max = double.NegativeInfinity;
        for (int i = 0; i < n; i++)
        {
            v[i] = multiplier * Math.Log10(Math.Max(xv[i], (double)amin)) - offset;
            max = Math.Max(max, v[i]);
        }
        bool floor = topDb >= 0;
        for (int i = 0; i < n; i++) yv[i] = (float)(floor ? Math.Max(v[i], max - topDb) : v[i]);
    }

    /// <summary>The argument checks every backend's <see cref="Backend.AmplitudeToDb"/> makes.</summary>
    internal static void CheckAmplitudeToDbArgs(Storage x, Storage y, int n, float amin)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), $"AmplitudeToDb: n = {n} is negative");
        if (!(amin > 0)) throw new ArgumentOutOfRangeException(nameof(amin), $"AmplitudeToDb: amin = {amin} must be > 0");
        foreach (var (s, name) in new[] { (x, "x"), (y, "y") })
        {
            if (s.DType != DType.Float32)
                throw new ArgumentException($"AmplitudeToDb: {name} must be a Float32 buffer, found {s.DType}", name);
            if (n > s.Length)
                throw new ArgumentException($"AmplitudeToDb: {name} [{n}] needs {n} elements, its buffer has {s.Length}", name);
        }
    }
}
