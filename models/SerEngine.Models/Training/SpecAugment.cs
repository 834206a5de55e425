namespace SerEngine.Models.Training;

/// <summary>
/// SpecAugment-style masking of a training input (Park et al. 2019, without time warping): a few
/// frequency bands and time spans of the normalised features are set to 0, the features' mean, so
/// the network cannot lean on any one band or moment.
/// </summary>
/// <param name="FreqMasks">Frequency masks per utterance.</param>
/// <param name="MaxFreqWidth">Largest frequency mask, in bins (each width is uniform in 0..max).</param>
/// <param name="TimeMasks">Time masks per utterance.</param>
/// <param name="MaxTimeWidth">Largest time mask, in frames; also at most a tenth of the valid frames.</param>
public sealed record SpecAugment(int FreqMasks = 2, int MaxFreqWidth = 20, int TimeMasks = 2, int MaxTimeWidth = 20)
{
    /// <summary>Masks x [bins, frames] (row-major, a row per bin, <paramref name="stride"/> values apart) in place, from <paramref name="rng"/>.</summary>
    public void Apply(Span<float> x, int bins, int frames, int stride, Generator rng)
    {
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
}
