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

    /// <summary>Reads what <see cref="Serialize"/> wrote; <paramref name="source"/> names it in errors.</summary>
    public static FeatureSettings Deserialize(string json, string source)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            return new FeatureSettings
            {
                Kind = Enum.Parse<FeatureKind>(r.GetProperty("kind").GetString()!),
                SampleRate = r.GetProperty("sample_rate").GetInt32(),
                Stft = new StftSettings
                {
                    NFft = r.GetProperty("n_fft").GetInt32(),
                    WinLength = r.GetProperty("win_length").GetInt32(),
                    HopLength = r.GetProperty("hop_length").GetInt32(),
                    Window = Enum.Parse<WindowKind>(r.GetProperty("window").GetString()!),
                    PeriodicWindow = r.GetProperty("periodic").GetBoolean(),
                    Center = r.GetProperty("center").GetBoolean(),
                    PadMode = Enum.Parse<PadMode>(r.GetProperty("pad_mode").GetString()!),
                    Power = r.GetProperty("power").GetDouble(),
                    Pad = r.GetProperty("pad").GetInt32(),
                },
                KeepBins = r.GetProperty("keep_bins").GetInt32(),
                Mel = new MelSettings
                {
                    NMels = r.GetProperty("n_mels").GetInt32(),
                    FMin = r.GetProperty("f_min").GetDouble(),
                    FMax = r.GetProperty("f_max").ValueKind == JsonValueKind.Null ? null : r.GetProperty("f_max").GetDouble(),
                    Scale = Enum.Parse<MelScale>(r.GetProperty("mel_scale").GetString()!),
                    Norm = Enum.Parse<MelNorm>(r.GetProperty("mel_norm").GetString()!),
                },
                NMfcc = r.GetProperty("n_mfcc").GetInt32(),
                TopDb = r.GetProperty("top_db").ValueKind == JsonValueKind.Null ? null : r.GetProperty("top_db").GetDouble(),
                Normalization = Enum.Parse<FeatureNormalization>(r.GetProperty("normalization").GetString()!),
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new FormatException($"{source}: feature settings are not valid: {ex.Message}");
        }
    }

    /// <summary>A short name for the settings (<c>logspec</c>, <c>logmel</c>, <c>mfcc</c>) with their size.</summary>
    public static string Describe(FeatureSettings s) => s.Kind switch
    {
        FeatureKind.LogSpectrogram => string.Create(CultureInfo.InvariantCulture, $"log spectrogram [{s.Bins} bins, hop {s.Stft.HopLengthOrDefault}]"),
        FeatureKind.LogMel => string.Create(CultureInfo.InvariantCulture, $"log-mel [{s.Bins} bands, hop {s.Stft.HopLengthOrDefault}]"),
        _ => string.Create(CultureInfo.InvariantCulture, $"MFCC [{s.Bins} coefficients, hop {s.Stft.HopLengthOrDefault}]"),
    };
}
