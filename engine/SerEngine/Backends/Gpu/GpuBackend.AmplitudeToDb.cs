using SerEngine.Backends.Cpu;

namespace SerEngine.Backends.Gpu;

// AmplitudeToDb launch code (kernels/spectrogram.cl): amplitude_to_db writes y and one maximum per
// work-group (grid-stride, at most MaxReductionGroup groups); when top_db ≥ 0, amplitude_to_db_floor
// reduces those maxima in every group and floors y. Two launches, no atomics, deterministic.
public abstract partial class GpuBackend
{
    /// <summary>Elements per work-item (at least) before amplitude_to_db adds another work-group.</summary>
    private const int DbElementsPerItem = 8;

    /// <inheritdoc/>
    public override void AmplitudeToDb(Storage x, Storage y, int n, float multiplier, float amin, float dbMultiplier, float topDb)
    {
        CpuReferenceBackend.CheckAmplitudeToDbArgs(x, y, n, amin);
        if (n == 0) return;
        int group = ReductionGroupLimit;
        int groups = (int)Math.Clamp(((long)n + (long)group * DbElementsPerItem - 1) / ((long)group * DbElementsPerItem), 1, MaxReductionGroup);
        using var partialMax = Allocate(groups, DType.Float32); // [groups]
        // x, y: [n]
        Launch(SpectrogramFile, "amplitude_to_db", SpectrogramOptions, [(long)groups * group], [group],
            [x, y, partialMax, n, multiplier, amin, multiplier * dbMultiplier]);
        if (topDb >= 0)
            Launch(SpectrogramFile, "amplitude_to_db_floor", SpectrogramOptions, [(long)groups * group], [group],
                [y, partialMax, n, groups, topDb]);
    }
}
