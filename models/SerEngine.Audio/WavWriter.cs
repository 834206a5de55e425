using System.Buffers.Binary;

namespace SerEngine.Audio;

/// <summary>Sample formats <see cref="WavWriter"/> writes.</summary>
public enum WavWriteFormat
{
    /// <summary>Signed 16-bit PCM (format tag 0x0001); values are scaled by 32768, rounded and clamped.</summary>
    Pcm16,
    /// <summary>IEEE float 32-bit (format tag 0x0003, with a <c>fact</c> chunk).</summary>
    Float32,
}

/// <summary>Writes plain RIFF/WAVE files (for tests and tools).</summary>
public static class WavWriter
{
    /// <summary>
    /// Writes <paramref name="samples"/> (interleaved when <paramref name="channels"/> &gt; 1) to
    /// <paramref name="path"/> atomically (temp file + rename).
    /// </summary>
    public static void Write(string path, ReadOnlySpan<float> samples, int sampleRate, WavWriteFormat format = WavWriteFormat.Pcm16, int channels = 1)
    {
        var bytes = ToBytes(samples, sampleRate, format, channels);
        string tmp = path + ".tmp" + Environment.ProcessId;
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The bytes of a WAV file holding <paramref name="samples"/> (interleaved by channel).</summary>
    public static byte[] ToBytes(ReadOnlySpan<float> samples, int sampleRate, WavWriteFormat format = WavWriteFormat.Pcm16, int channels = 1)
    {
        if (channels < 1 || channels > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(channels), channels, "expected 1..65535");
        if (sampleRate < 1) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "expected a positive rate");
        if (samples.Length % channels != 0)
            throw new ArgumentException($"{samples.Length} samples do not split into {channels} channels", nameof(samples));
        bool isFloat = format == WavWriteFormat.Float32;
        int bytesPerSample = isFloat ? 4 : 2;
        int fmtSize = isFloat ? 18 : 16;
        long dataSize = (long)samples.Length * bytesPerSample;
        int factSize = isFloat ? 12 : 0;
        long total = 12 + 8 + fmtSize + factSize + 8 + dataSize + (dataSize & 1);
        if (total > uint.MaxValue) throw new ArgumentException($"{samples.Length} samples exceed the 4 GiB WAV limit", nameof(samples));
        var b = new byte[total];
        var s = b.AsSpan();
        "RIFF"u8.CopyTo(s);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)(total - 8));
        "WAVE"u8.CopyTo(s[8..]);
        "fmt "u8.CopyTo(s[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], (uint)fmtSize);
        var f = s[20..];
        BinaryPrimitives.WriteUInt16LittleEndian(f, (ushort)(isFloat ? 3 : 1));
        BinaryPrimitives.WriteUInt16LittleEndian(f[2..], (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(f[4..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(f[8..], (uint)(sampleRate * channels * bytesPerSample));
        BinaryPrimitives.WriteUInt16LittleEndian(f[12..], (ushort)(channels * bytesPerSample));
        BinaryPrimitives.WriteUInt16LittleEndian(f[14..], (ushort)(8 * bytesPerSample));
        int p = 20 + fmtSize; // cbSize (float) stays 0
        if (isFloat)
        {
            "fact"u8.CopyTo(s[p..]);
            BinaryPrimitives.WriteUInt32LittleEndian(s[(p + 4)..], 4);
            BinaryPrimitives.WriteUInt32LittleEndian(s[(p + 8)..], (uint)(samples.Length / channels));
            p += 12;
        }
        "data"u8.CopyTo(s[p..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[(p + 4)..], (uint)dataSize);
        p += 8;
        for (int i = 0; i < samples.Length; i++)
        {
            if (isFloat)
            {
                BinaryPrimitives.WriteSingleLittleEndian(s[(p + 4 * i)..], samples[i]);
            }
            else
            {
                double v = Math.Round(samples[i] * 32768.0);
                short q = (short)Math.Clamp(double.IsNaN(v) ? 0 : v, short.MinValue, short.MaxValue);
                BinaryPrimitives.WriteInt16LittleEndian(s[(p + 2 * i)..], q);
            }
        }
        return b;
    }
}
