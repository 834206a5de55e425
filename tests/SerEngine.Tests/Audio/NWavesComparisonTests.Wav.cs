using System.Globalization;
using NWaves.Audio;
using SerEngine.Audio;
using static SerEngine.Tests.Audio.WavTests;

namespace SerEngine.Tests.Audio;

public partial class NWavesComparisonTests
{
    // ---- resampling ------------------------------------------------------------------------------

    internal static float[] Sine(double freq, int rate, int n, double amp = 0.5) =>
        Enumerable.Range(0, n).Select(i => (float)(amp * Math.Sin(2 * Math.PI * freq * i / rate))).ToArray();

    /// <summary>Signal-to-error ratio in dB against the ideal sine, 1/20 s from each edge (as ResamplerTests).</summary>
    internal static double SignalToErrorDb(float[] y, double freq, int rate, double amp = 0.5)
    {
        int margin = rate / 20;
        double sig = 0, err = 0;
        for (int n = margin; n < y.Length - margin; n++)
        {
            double e = amp * Math.Sin(2 * Math.PI * freq * n / rate);
            sig += e * e;
            err += (y[n] - e) * (y[n] - e);
        }
        return 10 * Math.Log10(sig / err);
    }

    /// <summary>The best SNR over integer delays of −512..512 output samples (a resampler's uncompensated group delay is not an error of shape).</summary>
    internal static (double Db, int Lag) BestLagSnrDb(float[] y, double freq, int rate)
    {
        (double Db, int Lag) best = (double.NegativeInfinity, 0);
        for (int lag = -512; lag <= 512; lag++)
        {
            var shifted = new float[y.Length];
            for (int n = 0; n < y.Length; n++) shifted[n] = n + lag >= 0 && n + lag < y.Length ? y[n + lag] : 0f;
            double db = SignalToErrorDb(shifted, freq, rate);
            if (db > best.Db) best = (db, lag);
        }
        return best;
    }

    /// <summary>RMS of what is left of a 12 kHz sine (an alias below 8 kHz at 16 kHz), in dB below the input's RMS.</summary>
    internal static double AliasDb(Func<float[], float[]> resample, int from, int to)
    {
        var y = resample(Sine(12000, from, from / 2));
        int margin = to / 20;
        double rms = Math.Sqrt(y.Skip(margin).Take(y.Length - 2 * margin).Average(v => (double)v * v));
        return 20 * Math.Log10(rms / (0.5 / Math.Sqrt(2)));
    }

    private static string ResampleLine(int from, int to)
    {
        var x = Sine(1000, from, from / 2);
        var ours = Resampler.Resample(x, from, to);
        var nw = NWavesFrontEnd.Resample(x, from, to);
        string alias = from > to
            ? $"; 12 kHz alias: ours {AliasDb(v => Resampler.Resample(v, from, to), from, to):F1} dB, NWaves {AliasDb(v => NWavesFrontEnd.Resample(v, from, to), from, to):F1} dB"
            : "";
        var lagged = BestLagSnrDb(nw, 1000, to);
        return $"1 kHz sine SNR ours {SignalToErrorDb(ours, 1000, to):F1} dB ({ours.Length} samples), NWaves {SignalToErrorDb(nw, 1000, to):F1} dB ({nw.Length} samples; " +
               $"best over delays {lagged.Db:F1} dB at {lagged.Lag} samples){alias}";
    }

    // ---- WAV reading -----------------------------------------------------------------------------

    /// <summary>Every encoding our WAV tests read (name, bytes), the bytes built as WavTests builds them.</summary>
    internal static IEnumerable<(string Name, byte[] Bytes)> ReadableWavs()
    {
        yield return ("PCM 8-bit unsigned", Riff(Fmt(1, 1, 8000, 8), Chunk("data", [0, 64, 128, 192, 255, 128])));
        yield return ("PCM 16-bit", Riff(Fmt(1, 1, 16000, 16), Chunk("data", Pcm16(-32768, -16384, 0, 16384, 32767))));
        yield return ("PCM 24-bit", Riff(Fmt(1, 1, 48000, 24), Chunk("data", Pcm24(-8388608, -4194304, 0, 1, 8388607))));
        yield return ("PCM 32-bit", Riff(Fmt(1, 1, 44100, 32), Chunk("data", Pcm32(int.MinValue, -1 << 30, 0, 1 << 20, int.MaxValue))));
        yield return ("IEEE float 32 (+ fact chunk)", Riff(Fmt(3, 1, 22050, 32, withCbSize: true), Chunk("fact", U32(4)), Chunk("data", F32(-1f, -0.25f, 0f, 0.5f, 0.999f))));
        yield return ("IEEE float 64", Riff(Fmt(3, 1, 22050, 64), Chunk("data", F64(0.125, 0.5, -0.75, 0.25, -1.0))));
        yield return ("EXTENSIBLE PCM 16", Riff(FmtExt(1, 1, 16000, 16, 16), Chunk("data", Pcm16(16384, -8192))));
        yield return ("EXTENSIBLE float 32 stereo", Riff(FmtExt(3, 2, 96000, 32, 32), Chunk("data", F32(0.5f, 0.25f, -1f, 0f))));
        yield return ("EXTENSIBLE 20 valid bits in 24", Riff(FmtExt(1, 1, 16000, 24, 20), Chunk("data", Pcm24(0x400000 & ~0xF, -0x800000))));
        yield return ("PCM 16 stereo", Riff(Fmt(1, 2, 16000, 16), Chunk("data", Pcm16(16384, -8192, -32768, -32768, 100, 300))));
        yield return ("PCM 16 six channels", Riff(Fmt(1, 6, 16000, 16), Chunk("data", Pcm16(6000, -3000, 1200, 0, 0, 9000))));
        yield return ("JUNK, odd data + pad, data before fmt, LIST", Riff(Chunk("JUNK", [1, 2, 3]), Chunk("data", [128, 255, 0]), Fmt(1, 1, 8000, 8), Chunk("LIST", "INFOISFT"u8.ToArray())));
        yield return ("odd last chunk without pad byte", Riff(Fmt(1, 1, 8000, 8), Chunk("data", [128, 128, 128], padByte: false)));
        yield return ("streamed (data size 0xFFFFFFFF, ffmpeg pipe)", RiffWith(0xFFFFFFFF, "RIFF", "WAVE", Fmt(1, 1, 22050, 16), Chunk("data", Pcm16(100, -200, 300), padByte: false, size: 0xFFFFFFFF)));
        yield return ("streamed (sizes 0x7FFFF0xx, sox/espeak pipe)", RiffWith(0x7FFFF024, "RIFF", "WAVE", Fmt(1, 1, 22050, 16), Chunk("data", Pcm16(100, -200, 300), padByte: false, size: 0x7FFFF000)));
        yield return ("streamed (sizes 0)", RiffWith(0, "RIFF", "WAVE", Fmt(1, 1, 22050, 16), Chunk("data", Pcm16(100, -200, 300), padByte: false, size: 0)));
    }

    /// <summary>Every broken file our WAV tests refuse (name, bytes), from WavTests and WavTests.Hostile.</summary>
    internal static IEnumerable<(string Name, byte[] Bytes)> BrokenWavs()
    {
        byte[] good = Riff(Fmt(1, 1, 16000, 16), Chunk("data", Pcm16(1, 2, 3, 4)));
        yield return ("empty file", []);
        yield return ("10 bytes", good[..10]);
        yield return ("cut by 3 bytes", good[..^3]);
        yield return ("data claims 1 GiB", Riff(Fmt(1, 2, 48000, 16), Chunk("data", new byte[100], size: 0x40000000)));
        yield return ("OggS", RiffWith(null, "OggS", "WAVE", Fmt(1, 1, 8000, 8)));
        yield return ("RIFX", RiffWith(null, "RIFX", "WAVE", Fmt(1, 1, 8000, 8)));
        yield return ("RF64", RiffWith(null, "RF64", "WAVE", Fmt(1, 1, 8000, 8)));
        yield return ("AVI", RiffWith(null, "RIFF", "AVI ", Fmt(1, 1, 8000, 8)));
        yield return ("MP3 bytes", [0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0, 0, 0, 0, 0]);
        foreach (var (tag, name) in new[] { (7, "mu-law"), (6, "A-law"), (2, "MS ADPCM"), (0x11, "IMA ADPCM"), (0x55, "MP3"), (0x31, "GSM"), (0x1234, "unknown tag") })
            yield return ($"encoding 0x{tag:X4} ({name})", Riff(Fmt(tag, 1, 8000, 8), Chunk("data", [1, 2])));
        yield return ("NaN float sample", Riff(Fmt(3, 1, 8000, 32), Chunk("data", F32(0.5f, float.NaN))));
        yield return ("sample rate 0", Riff(Fmt(1, 1, 0, 16), Chunk("data", [1, 2])));
        yield return ("no fmt chunk", Riff(Chunk("data", Pcm16(1, 2))));
        yield return ("empty data chunk", Riff(Fmt(1, 1, 8000, 16), Chunk("data", [])));
        int i = 0;
        foreach (var row in WavTests.BrokenHeaders)
        {
            var d = ((ITheoryDataRow)row).GetData();
            yield return ($"broken header #{++i} ({d[2]})", (byte[])d[0]!);
        }
    }

    /// <summary>NWaves' reading of a file: its samples averaged over channels (our convention), or the exception.</summary>
    internal static (float[]? Samples, Exception? Error) NWavesRead(byte[] bytes)
    {
        try
        {
            var wf = new WaveFile(bytes);
            var ch = wf.Signals;
            int n = ch[0].Length;
            var avg = new float[n];
            for (int t = 0; t < n; t++) { double s = 0; foreach (var c in ch) s += c[t]; avg[t] = (float)(s / ch.Count); }
            return (avg, null);
        }
        catch (Exception ex) { return (null, ex); }
    }

    private static string Describe(Exception ex) => $"{ex.GetType().Name}: \"{ex.Message.Split('\n')[0]}\"";

    private static IEnumerable<string> WavLines()
    {
        foreach (var (name, bytes) in ReadableWavs())
        {
            var ours = WavReader.Parse(bytes, "x.wav").Samples;
            var (nw, err) = NWavesRead(bytes);
            yield return err is not null
                ? $"wav read {name}: NWaves refuses with {Describe(err)}; ours reads {ours.Length} samples"
                : nw!.Length != ours.Length
                ? $"wav read {name}: NWaves reads {nw.Length} samples, ours {ours.Length}"
                : $"wav read {name}: NWaves reads it, max abs diff from ours {G(Diff(nw, ours).Abs)}";
        }
        foreach (var (name, bytes) in BrokenWavs())
        {
            string ours;
            try { WavReader.Parse(bytes, "x.wav"); ours = "ours READS it"; }
            catch (AudioFormatException ex) { ours = $"ours \"{ex.Message}\""; }
            var (nw, err) = NWavesRead(bytes);
            yield return err is not null
                ? $"wav broken {name}: NWaves {Describe(err)}; {ours}"
                : $"wav broken {name}: NWaves ACCEPTS it ({nw!.Length} samples, first {(nw.Length > 0 ? nw[0].ToString("G4", CultureInfo.InvariantCulture) : "-")}); {ours}";
        }
    }
}
