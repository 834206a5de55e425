namespace SerEngine.Backends.Cpu;

// Spectrogram: the direct DFT of each windowed frame, in double, then |X|^power.
// Dimension legend: nFft DFT size, hop samples between frame starts, frames output columns,
// nFreq output rows (bins 0 .. nFreq−1 of the onesided spectrum, nFreq ≤ nFft/2 + 1).
//   frame t, sample n:  f[n] = signal[t·hop + n]·window[n]
//   X[k, t] = Σ_n f[n]·(cos θ − i·sin θ),  θ = 2π·((k·n) mod nFft)/nFft   (the index is reduced
//             exactly before the angle is formed, so large k·n lose nothing)
//   y[k, t] = re² + im² (power 2), √(re² + im²) (power 1), else (√(re² + im²))^power
// O(nFreq·frames·nFft): the oracle, not the fast path (SerEngine.Audio's FFT is the fast host one).
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void SpectrogramForward(Storage signal, Storage window, Storage y, int nFft, int hop, int frames, int nFreq, float power)
    {
        CheckSpectrogramArgs(signal, window, y, nFft, hop, frames, nFreq, power);
        float[] sv = F(signal), wv = F(window), yv = F(y); // [(frames−1)·hop + nFft], [nFft], [nFreq, frames]
        var cos = new double[nFft];
        var sin = new double[nFft];
        for (int j = 0; j < nFft; j++)
        {
            double theta = 2.0 * Math.PI * j / nFft;
            cos[j] = Math.Cos(theta);
            sin[j] = Math.Sin(theta);
        }
        var frame = new double[nFft]; // [nFft]
        for (int t = 0; t < frames; t++)
        {
            for (int n = 0; n < nFft; n++) frame[n] = (double)sv[t * hop + n] * wv[n];
            for (int k = 0; k < nFreq; k++)
            {
                double re = 0, im = 0;
                for (int n = 0; n < nFft; n++)
                {
                    int j = (int)((long)k * n % nFft);
                    re += frame[n] * cos[j];
                    im -= frame[n] * sin[j];
                }
                double p = re * re + im * im;
                yv[k * frames + t] = (float)(power == 2f ? p : power == 1f ? Math.Sqrt(p) : Math.Pow(Math.Sqrt(p), power));
            }
        }
    }

    /// <summary>The argument checks every backend's <see cref="Backend.SpectrogramForward"/> makes.</summary>
    internal static void CheckSpectrogramArgs(Storage signal, Storage window, Storage y, int nFft, int hop, int frames, int nFreq, float power)
    {
        if (nFft < 1) throw new ArgumentOutOfRangeException(nameof(nFft), $"SpectrogramForward: nFft = {nFft} must be >= 1");
        if (hop < 1) throw new ArgumentOutOfRangeException(nameof(hop), $"SpectrogramForward: hop = {hop} must be >= 1");
        if (frames < 0) throw new ArgumentOutOfRangeException(nameof(frames), $"SpectrogramForward: frames = {frames} is negative");
        if (nFreq < 0 || nFreq > nFft / 2 + 1)
            throw new ArgumentOutOfRangeException(nameof(nFreq), $"SpectrogramForward: nFreq = {nFreq} must be in 0..nFft/2 + 1 = {nFft / 2 + 1}");
        if (!(power > 0) || float.IsInfinity(power))
            throw new ArgumentOutOfRangeException(nameof(power), $"SpectrogramForward: power = {power} must be a positive number");
        long samples = frames == 0 ? 0 : (long)(frames - 1) * hop + nFft;
        long outputs = (long)nFreq * frames;
        if (samples > int.MaxValue || outputs > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(frames), $"SpectrogramForward: {frames} frames of hop {hop}, nFft {nFft}, nFreq {nFreq} exceed int indexing");
        CheckFloat32(signal, samples, "signal", $"[{samples}] ((frames {frames} − 1)·hop {hop} + nFft {nFft})");
        CheckFloat32(window, nFft, "window", $"[{nFft}]");
        CheckFloat32(y, outputs, "y", $"[{nFreq}, {frames}]");

        static void CheckFloat32(Storage s, long needed, string name, string shape)
        {
            if (s.DType != DType.Float32)
                throw new ArgumentException($"SpectrogramForward: {name} must be a Float32 buffer, found {s.DType}", name);
            if (needed > s.Length)
                throw new ArgumentException($"SpectrogramForward: {name} {shape} needs {needed} elements, its buffer has {s.Length}", name);
        }
    }
}
