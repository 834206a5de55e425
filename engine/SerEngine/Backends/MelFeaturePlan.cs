namespace SerEngine.Backends;

/// <summary>How <see cref="Backend.MelFeatures"/> scales the mel energies before the optional DCT.</summary>
public enum MelFeatureScale
{
    /// <summary>No scaling: the mel spectrogram itself (torchaudio.transforms.MelSpectrogram).</summary>
    Power,
    /// <summary><c>log(mel + logOffset)</c> (torchaudio MFCC's log_mels).</summary>
    Log,
    /// <summary>torchaudio.functional.amplitude_to_DB over the whole utterance (see <see cref="Backend.AmplitudeToDb"/>).</summary>
    Decibels,
}

/// <summary>
/// The constants of the mel feature tail (<see cref="Backend.MelFeatures"/>): the filterbank
/// <c>[nFreq, nMels]</c>, the scaling and the optional DCT matrix <c>[nMels, nMfcc]</c>. Build one per
/// (shape, settings) and reuse it: backends upload its tables once per plan object and keep them
/// (a plan is immutable, so its identity is the cache key).
/// </summary>
public sealed class MelFeaturePlan
{
    private float[]? _packed;

    /// <summary>
    /// A plan from host tables rounded to float. <paramref name="filterbank"/> [nFreq, nMels];
    /// <paramref name="dct"/> [nMels, nMfcc] or null for no DCT. For <see cref="MelFeatureScale.Decibels"/>:
    /// y = multiplier·log10(max(mel, amin)) − multiplier·dbMultiplier, then, when topDb ≥ 0, floored at
    /// the utterance's maximum − topDb (negative or NaN topDb: no floor). For <see cref="MelFeatureScale.Log"/>:
    /// y = log(mel + logOffset).
    /// </summary>
    /// <exception cref="ArgumentException">Sizes that do not match the tables, or amin ≤ 0 for decibels.</exception>
    public MelFeaturePlan(int nFreq, int nMels, float[] filterbank, float[]? dct, int nMfcc, MelFeatureScale scale,
        float logOffset = 0f, float multiplier = 10f, float amin = 1e-10f, float dbMultiplier = 0f, float topDb = -1f)
    {
        ArgumentNullException.ThrowIfNull(filterbank);
        if (nFreq < 1 || nMels < 1) throw new ArgumentException($"MelFeaturePlan: nFreq = {nFreq} and nMels = {nMels} must be positive");
        if (filterbank.Length != (long)nFreq * nMels)
            throw new ArgumentException($"MelFeaturePlan: filterbank has {filterbank.Length} values, expected [{nFreq}, {nMels}]");
        if (dct is null ? nMfcc != 0 : nMfcc < 1 || dct.Length != (long)nMels * nMfcc)
            throw new ArgumentException($"MelFeaturePlan: dct of {dct?.Length ?? 0} values does not match [{nMels}, {nMfcc}]");
        if (scale == MelFeatureScale.Decibels && !(amin > 0))
            throw new ArgumentException($"MelFeaturePlan: amin = {amin} must be > 0");
        NFreq = nFreq;
        NMels = nMels;
        NMfcc = nMfcc;
        Filterbank = filterbank;
        Dct = dct;
        Scale = scale;
        LogOffset = logOffset;
        Multiplier = multiplier;
        Amin = amin;
        DbMultiplier = dbMultiplier;
        TopDb = topDb;
        for (int m = 0; m < nMels; m++) UsedBins = Math.Max(UsedBins, BandEnd(m));
    }

    /// <summary>Frequency bins of the power spectrogram the filterbank reads (its rows).</summary>
    public int NFreq { get; }

    /// <summary>Mel bands.</summary>
    public int NMels { get; }

    /// <summary>Cepstral coefficients (0: no DCT, the output is the scaled mel spectrogram).</summary>
    public int NMfcc { get; }

    /// <summary>The output's rows: <see cref="NMfcc"/> with a DCT, else <see cref="NMels"/>.</summary>
    public int OutputRows => NMfcc > 0 ? NMfcc : NMels;

    /// <summary>The filterbank [nFreq, nMels].</summary>
    public float[] Filterbank { get; }

    /// <summary>The DCT matrix [nMels, nMfcc], or null.</summary>
    public float[]? Dct { get; }

    /// <summary>The scaling after the mel projection.</summary>
    public MelFeatureScale Scale { get; }

    /// <summary><see cref="MelFeatureScale.Log"/>: the offset added before the log.</summary>
    public float LogOffset { get; }

    /// <summary><see cref="MelFeatureScale.Decibels"/>: 10 for power, 20 for magnitude.</summary>
    public float Multiplier { get; }

    /// <summary><see cref="MelFeatureScale.Decibels"/>: the floor under the log.</summary>
    public float Amin { get; }

    /// <summary><see cref="MelFeatureScale.Decibels"/>: log10(max(amin, ref)).</summary>
    public float DbMultiplier { get; }

    /// <summary><see cref="MelFeatureScale.Decibels"/>: the dynamic range kept below the maximum (negative: all).</summary>
    public float TopDb { get; }

    /// <summary>True when the result needs the whole utterance's maximum (decibels with top_db ≥ 0).</summary>
    public bool NeedsUtteranceMax => Scale == MelFeatureScale.Decibels && TopDb >= 0;

    /// <summary>One past the highest bin any filter has a non-zero weight on (the bins a fused kernel must compute).</summary>
    public int UsedBins { get; }

    /// <summary>
    /// The device table the fused kernels read, as floats (integers below 2^24 are exact): per mel band
    /// [nMels, 3] (first bin, bin count, offset of its weights), then the weights of every band back to
    /// back (bins first .. first + count − 1 of its filterbank column), then the DCT [nMels, nMfcc].
    /// The bands skip the filterbank's zeros: about 2·nFreq weights instead of nFreq·nMels.
    /// </summary>
    public float[] PackedTable => _packed ??= Pack();

    /// <summary>Offset of the weights in <see cref="PackedTable"/>.</summary>
    public int WeightsOffset => 3 * NMels;

    /// <summary>Offset of the DCT in <see cref="PackedTable"/>.</summary>
    public int DctOffset => PackedTable.Length - (Dct?.Length ?? 0);

    /// <summary>Non-zero weights of the filterbank counted as the fused kernels read them (band spans).</summary>
    public int BandWeights
    {
        get
        {
            int total = 0;
            for (int m = 0; m < NMels; m++) total += BandEnd(m) - BandStart(m);
            return total;
        }
    }

    private int BandStart(int m)
    {
        for (int k = 0; k < NFreq; k++)
            if (Filterbank[k * NMels + m] != 0f) return k;
        return 0;
    }

    private int BandEnd(int m)
    {
        for (int k = NFreq - 1; k >= 0; k--)
            if (Filterbank[k * NMels + m] != 0f) return k + 1;
        return 0;
    }

    private float[] Pack()
    {
        var weights = new List<float>();
        var head = new float[3 * NMels]; // [nMels, 3]
        for (int m = 0; m < NMels; m++)
        {
            int first = BandStart(m), end = BandEnd(m);
            head[3 * m] = first;
            head[3 * m + 1] = Math.Max(end - first, 0);
            head[3 * m + 2] = weights.Count;
            for (int k = first; k < end; k++) weights.Add(Filterbank[k * NMels + m]);
        }
        if (weights.Count >= 1 << 24) throw new ArgumentException($"MelFeaturePlan: {weights.Count} band weights exceed float-exact offsets");
        return [.. head, .. weights, .. Dct ?? []];
    }
}
