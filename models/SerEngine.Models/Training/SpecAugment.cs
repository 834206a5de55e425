namespace SerEngine.Models.Training;

/// <summary>
/// Augmentation of a training input: a random frequency warp (a speaker's pitch and formants moved
/// by up to <see cref="MaxWarpSemitones"/>, so the network cannot lean on where one speaker's
/// harmonics sit) followed by SpecAugment-style masking (Park et al. 2019, without time warping): a
/// few frequency bands and time spans of the normalised features are set to 0, the features' mean,
/// so the network cannot lean on any one band or moment.
/// </summary>
/// <param name="FreqMasks">Frequency masks per utterance.</param>
/// <param name="MaxFreqWidth">Largest frequency mask, in bins (each width is uniform in 0..max).</param>
/// <param name="TimeMasks">Time masks per utterance.</param>
/// <param name="MaxTimeWidth">Largest time mask, in frames; also at most a tenth of the valid frames.</param>
/// <param name="MaxWarpSemitones">Largest frequency warp, in semitones (uniform in ±max; 0: no warp and no draw).</param>
public sealed record SpecAugment(int FreqMasks = 2, int MaxFreqWidth = 20, int TimeMasks = 2, int MaxTimeWidth = 20, float MaxWarpSemitones = 0f)
{
    /// <summary>Warp only: no masks.</summary>
    public static SpecAugment WarpOnly(float maxSemitones) => new(0, 0, 0, 0, maxSemitones);

    /// <summary>Warps, then masks x [bins, frames] (row-major, a row per bin, <paramref name="stride"/> values apart) in place, from <paramref name="rng"/>.</summary>
    public void Apply(Span<float> x, int bins, int frames, int stride, Generator rng)
    {
        if (MaxWarpSemitones > 0)
            Warp(x, bins, frames, stride, MathF.Pow(2f, (2f * rng.NextSingle() - 1f) * MaxWarpSemitones / 12f));
        for (int m = 0; m < FreqMasks; m++)
        {
            int width = rng.NextInt(Math.Min(MaxFreqWidth, bins) + 1);
            int start = rng.NextInt(bins - width + 1);
            for (int b = start; b < start + width; b++) x.Slice(b * stride, frames).Clear();
        }
        int maxTime = Math.Min(MaxTimeWidth, frames / 10);
        for (int m = 0; m < TimeMasks; m++)
        {
            int width = rng.NextInt(maxTime + 1);
            int start = rng.NextInt(frames - width + 1);
            for (int b = 0; b < bins; b++) x.Slice(b * stride + start, width).Clear();
        }
    }

    /// <summary>
    /// Scales the frequency axis by <paramref name="alpha"/> in place: bin b takes the value at b / α,
    /// interpolated linearly between the two nearest bins; bins whose source lies above the top bin get 0.
    /// </summary>
    public static void Warp(Span<float> x, int bins, int frames, int stride, float alpha)
    {
        // Rented, not allocated: this runs for every training utterance of every step.
        float[] rented = System.Buffers.ArrayPool<float>.Shared.Rent(bins * frames);
        var source = rented.AsSpan(0, bins * frames); // [bins, frames], the input before the warp
        for (int b = 0; b < bins; b++) x.Slice(b * stride, frames).CopyTo(source.Slice(b * frames, frames));
        for (int b = 0; b < bins; b++)
        {
            var row = x.Slice(b * stride, frames);
            float at = b / alpha;
            int lo = (int)at;
            if (lo > bins - 1 || (lo == bins - 1 && at > lo)) { row.Clear(); continue; }
            float w = at - lo;
            var below = source.Slice(lo * frames, frames);
            if (w == 0f) { below.CopyTo(row); continue; }
            var above = source.Slice((lo + 1) * frames, frames);
            for (int t = 0; t < frames; t++) row[t] = below[t] + w * (above[t] - below[t]);
        }
        System.Buffers.ArrayPool<float>.Shared.Return(rented);
    }
}
