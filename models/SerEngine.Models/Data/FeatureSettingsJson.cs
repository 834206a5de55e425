using System.Globalization;
using System.Text;
using System.Text.Json;
using SerEngine.Audio;

namespace SerEngine.Models.Data;

/// <summary>
/// <see cref="FeatureSettings"/> as JSON (for checkpoints and the feature cache key): every field,
/// so a checkpoint carries exactly the front end it was trained with.
/// </summary>
public static class FeatureSettingsJson
{
    /// <summary>The settings as a compact JSON object.</summary>
    public static string Serialize(FeatureSettings s)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("kind", s.Kind.ToString());
            w.WriteNumber("sample_rate", s.SampleRate);
            w.WriteNumber("n_fft", s.Stft.NFft);
            w.WriteNumber("win_length", s.Stft.WinLengthOrDefault);
            w.WriteNumber("hop_length", s.Stft.HopLengthOrDefault);
            w.WriteString("window", s.Stft.Window.ToString());
            w.WriteBoolean("periodic", s.Stft.PeriodicWindow);
            w.WriteBoolean("center", s.Stft.Center);
            w.WriteString("pad_mode", s.Stft.PadMode.ToString());
            w.WriteNumber("power", s.Stft.Power);
            w.WriteNumber("pad", s.Stft.Pad);
            w.WriteNumber("keep_bins", s.KeepBins);
            w.WriteNumber("n_mels", s.Mel.NMels);
            w.WriteNumber("f_min", s.Mel.FMin);
            if (s.Mel.FMax is double fmax) w.WriteNumber("f_max", fmax);
            else w.WriteNull("f_max");
            w.WriteString("mel_scale", s.Mel.Scale.ToString());
            w.WriteString("mel_norm", s.Mel.Norm.ToString());
            w.WriteNumber("n_mfcc", s.NMfcc);
            if (s.TopDb is double top) w.WriteNumber("top_db", top);
            else w.WriteNull("top_db");
            w.WriteString("normalization", s.Normalization.ToString());
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Largest n_fft a stored front end may ask for (2^16: 4 s at 16 kHz, far beyond any speech front end).</summary>
    public const int MaxNFft = 65536;

    /// <summary>
    /// Reads what <see cref="Serialize"/> wrote, checking every field's type and range (sample rate
    /// <see cref="SampleRates"/> (1000..768000 Hz), n_fft 2..<see cref="MaxNFft"/>, window and hop within n_fft, 0 ≤ f_min &lt;
    /// f_max ≤ rate/2, ...); <paramref name="source"/> names it in errors, which are
    /// <see cref="FormatException"/>s naming the field, what it must be and what was found.
    /// </summary>
    public static FeatureSettings Deserialize(string json, string source) =>
        JsonFields.Parse(json, $"{source}: metadata 'features'", Read);

    private static FeatureSettings Read(JsonFields r)
    {
        int rate = r.Int("sample_rate", SampleRates.Min, SampleRates.Max);
        int nFft = r.Int("n_fft", 2, MaxNFft);
        double nyquist = rate / 2.0;
        double fMin = r.Number("f_min", 0, nyquist);
        double? fMax = r.NumberOrNull("f_max", 0, nyquist);
        if (fMax is double top && !(top > fMin))
            throw r.Bad("f_max", string.Create(CultureInfo.InvariantCulture, $"must be above f_min ({fMin}), found {top}"));
        if (fMax is null && !(fMin < nyquist))
            throw r.Bad("f_min", string.Create(CultureInfo.InvariantCulture, $"must be below the Nyquist frequency ({nyquist} Hz), found {fMin}"));
        int nMels = r.Int("n_mels", 1, 1024);
        var settings = new FeatureSettings
        {
            Kind = r.Enum<FeatureKind>("kind"),
            SampleRate = rate,
            Stft = new StftSettings
            {
                NFft = nFft,
                WinLength = r.Int("win_length", 1, nFft),
                HopLength = r.Int("hop_length", 1, nFft),
                Window = r.Enum<WindowKind>("window"),
                PeriodicWindow = r.Bool("periodic"),
                Center = r.Bool("center"),
                PadMode = r.Enum<PadMode>("pad_mode"),
                Power = r.Number("power", 0.01, 16),
                Pad = r.Int("pad", 0, nFft),
            },
            KeepBins = r.Int("keep_bins", 0, nFft / 2 + 1),
            Mel = new MelSettings
            {
                NMels = nMels,
                FMin = fMin,
                FMax = fMax,
                Scale = r.Enum<MelScale>("mel_scale"),
                Norm = r.Enum<MelNorm>("mel_norm"),
            },
            NMfcc = r.Int("n_mfcc", 1, nMels),
            TopDb = r.NumberOrNull("top_db", 0, 1000),
            Normalization = r.Enum<FeatureNormalization>("normalization"),
        };
        // the audio library's own rules, so a stored front end is never looser than a built one
        try { settings.Stft.Validate(); }
        catch (ArgumentException ex) { throw new FormatException($"{r.Where}: {ex.Message}"); }
        return settings;
    }

    /// <summary>A short name for the settings (<c>logspec</c>, <c>logmel</c>, <c>mfcc</c>) with their size.</summary>
    public static string Describe(FeatureSettings s) => s.Kind switch
    {
        FeatureKind.LogSpectrogram => string.Create(CultureInfo.InvariantCulture, $"log spectrogram [{s.Bins} bins, hop {s.Stft.HopLengthOrDefault}]"),
        FeatureKind.LogMel => string.Create(CultureInfo.InvariantCulture, $"log-mel [{s.Bins} bands, hop {s.Stft.HopLengthOrDefault}]"),
        _ => string.Create(CultureInfo.InvariantCulture, $"MFCC [{s.Bins} coefficients, hop {s.Stft.HopLengthOrDefault}]"),
    };
}
