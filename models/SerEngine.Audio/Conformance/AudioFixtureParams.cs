using System.Text.Json;
using System.Text.RegularExpressions;
using SerEngine.Conformance;

namespace SerEngine.Audio.Conformance;

/// <summary>
/// Reads an audio fixture's <c>params</c> with torchaudio's defaults for anything missing, so cases
/// with any n_fft, hop, window, mel count, scale, norm, pad mode or power run unchanged.
/// </summary>
internal static partial class AudioFixtureParams
{
    private static JsonElement? Get(Fixture f, string name) =>
        f.Params.ValueKind == JsonValueKind.Object && f.Params.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static bool Has(Fixture f, string name) => Get(f, name) is not null;

    public static int Int(Fixture f, string name, int fallback) => Get(f, name) is { } v ? (int)v.GetDouble() : fallback;

    public static int? IntOrNull(Fixture f, string name) => Get(f, name) is { } v ? (int)v.GetDouble() : null;

    public static double Double(Fixture f, string name, double fallback) => Get(f, name) is { } v ? v.GetDouble() : fallback;

    public static double? DoubleOrNull(Fixture f, string name) => Get(f, name) is { } v ? v.GetDouble() : null;

    public static bool Bool(Fixture f, string name, bool fallback) => Get(f, name) is { } v ? v.GetBoolean() : fallback;

    public static string? String(Fixture f, string name) => Get(f, name) is { } v ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()) : null;

    private static NotSupportedException Bad(Fixture f, string name, string? value, string expected) =>
        new NotSupportedException($"{f.Name}: params.{name} = {value ?? "null"}, expected {expected}");

    /// <summary>STFT settings: n_fft (400), win_length (n_fft), hop_length (win_length/2), window ("hann, periodic"), center (true), pad_mode (reflect), power (2), pad (0), normalized (false only), onesided (true only).</summary>
    public static StftSettings Stft(Fixture f)
    {
        if (Bool(f, "normalized", false)) throw Bad(f, "normalized", "true", "false");
        if (!Bool(f, "onesided", true)) throw Bad(f, "onesided", "false", "true");
        if (f.Params.ValueKind == JsonValueKind.Object && f.Params.TryGetProperty("power", out var p) && p.ValueKind == JsonValueKind.Null)
            throw Bad(f, "power", null, "a number (complex output is not supported)");
        var (kind, periodic) = Window(f);
        return new StftSettings
        {
            NFft = Int(f, "n_fft", 400),
            WinLength = IntOrNull(f, "win_length"),
            HopLength = IntOrNull(f, "hop_length"),
            Window = kind,
            PeriodicWindow = periodic,
            Center = Bool(f, "center", true),
            PadMode = String(f, "pad_mode") switch
            {
                null or "reflect" => PadMode.Reflect,
                "constant" => PadMode.Constant,
                "replicate" => PadMode.Replicate,
                var s => throw Bad(f, "pad_mode", s, "reflect, constant or replicate"),
            },
            Power = Double(f, "power", 2.0),
            Pad = Int(f, "pad", 0),
        };
    }

    /// <summary>Parses "hann, periodic", "hamming, symmetric", "hann" (periodic) ...</summary>
    public static (WindowKind Kind, bool Periodic) Window(Fixture f)
    {
        string text = (String(f, "window") ?? "hann, periodic").ToLowerInvariant();
        var parts = text.Split([',', ' ', '_'], StringSplitOptions.RemoveEmptyEntries);
        var kind = parts.Length == 0 ? WindowKind.Hann : parts[0] switch
        {
            "hann" or "hanning" => WindowKind.Hann,
            "hamming" => WindowKind.Hamming,
            "rect" or "rectangular" or "boxcar" or "ones" => WindowKind.Rectangular,
            _ => throw Bad(f, "window", text, "hann, hamming or rectangular, optionally \", periodic\"/\", symmetric\""),
        };
        bool periodic = !parts.Skip(1).Any(p => p is "symmetric" or "periodic=false");
        return (kind, periodic);
    }

    /// <summary>Mel settings: sample_rate (16000), n_mels (128), f_min (0), f_max (sr/2), mel_scale (htk), norm (none).</summary>
    public static MelSettings Mel(Fixture f) => new()
    {
        SampleRate = Int(f, "sample_rate", 16000),
        NMels = Int(f, "n_mels", 128),
        FMin = Double(f, "f_min", 0.0),
        FMax = DoubleOrNull(f, "f_max"),
        Scale = MelScaleOf(f),
        Norm = MelNormOf(f),
    };

    public static MelScale MelScaleOf(Fixture f) => String(f, "mel_scale") switch
    {
        null or "htk" => MelScale.Htk,
        "slaney" => MelScale.Slaney,
        var s => throw Bad(f, "mel_scale", s, "htk or slaney"),
    };

    public static MelNorm MelNormOf(Fixture f) => String(f, "norm") switch
    {
        null or "none" => MelNorm.None,
        "slaney" => MelNorm.Slaney,
        var s => throw Bad(f, "norm", s, "null, \"none\" or \"slaney\""),
    };

    /// <summary>top_db: the number in params.top_db, else "top_db=N" in the params.db text, else 80 (MFCC's default).</summary>
    public static double? TopDb(Fixture f)
    {
        if (f.Params.ValueKind == JsonValueKind.Object && f.Params.TryGetProperty("top_db", out var v))
            return v.ValueKind == JsonValueKind.Null ? null : v.GetDouble();
        if (String(f, "db") is { } db && TopDbPattern().Match(db) is { Success: true } m)
            return double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return 80.0;
    }

    /// <summary>Orthonormal DCT unless params.dct_norm / params.dct says otherwise.</summary>
    public static bool OrthoDct(Fixture f)
    {
        string? norm = String(f, "dct_norm") ?? String(f, "dct");
        return norm is null || norm.Contains("ortho", StringComparison.OrdinalIgnoreCase);
    }

    [GeneratedRegex(@"top_db\s*=\s*([0-9.eE+-]+)")]
    private static partial Regex TopDbPattern();

    /// <summary>The fixture's <c>in.wave</c>: its samples split into rows (a 1-D wave is one row).</summary>
    public static (float[][] Rows, int[] LeadingDims) Wave(Fixture f)
    {
        if (!f.Tensors.TryGetValue("in.wave", out var w) || w.Floats is null)
            throw new InvalidDataException($"{f.Name}: missing float tensor in.wave");
        var dims = w.Shape.ToArray();
        int len = dims.Length == 0 ? 1 : dims[^1];
        int rows = len == 0 ? 0 : w.Floats.Length / len;
        var r = new float[rows][];
        for (int i = 0; i < rows; i++) r[i] = w.Floats.AsSpan(i * len, len).ToArray();
        return (r, dims.Length == 0 ? [] : dims[..^1]);
    }

    /// <summary>Stacks per-row results <c>[R, C]</c> under the wave's leading dimensions.</summary>
    public static IO.HostTensor Stack(IReadOnlyList<DoubleMatrix> results, int[] leading)
    {
        int rows = results[0].Rows, cols = results[0].Columns;
        var v = new float[results.Count * rows * cols];
        for (int i = 0; i < results.Count; i++)
            for (int j = 0; j < rows * cols; j++) v[i * rows * cols + j] = (float)results[i].Values[j];
        return new IO.HostTensor(new Shape([.. leading, rows, cols]), v);
    }
}
