namespace SerEngine.Audio;

/// <summary>How a WAV file stores its samples.</summary>
public enum WavSampleEncoding
{
    /// <summary>Unsigned 8-bit integers, 128 is silence.</summary>
    PcmUnsigned8,
    /// <summary>Signed little-endian 16-bit integers.</summary>
    PcmSigned16,
    /// <summary>Signed little-endian 24-bit integers (3 bytes).</summary>
    PcmSigned24,
    /// <summary>Signed little-endian 32-bit integers.</summary>
    PcmSigned32,
    /// <summary>IEEE 754 binary32.</summary>
    Float32,
    /// <summary>IEEE 754 binary64.</summary>
    Float64,
}

/// <summary>The header facts of a WAV file (what <c>ser info</c> prints), without the samples.</summary>
/// <param name="Source">The file name.</param>
/// <param name="SampleRate">Frames per second.</param>
/// <param name="Channels">Interleaved channels in the file.</param>
/// <param name="Encoding">Sample encoding.</param>
/// <param name="BitsPerSample">Container bits per sample (8, 16, 24, 32 or 64).</param>
/// <param name="ValidBitsPerSample">Significant bits per sample (WAVE_FORMAT_EXTENSIBLE may say fewer than the container).</param>
/// <param name="Extensible">True when the file uses WAVE_FORMAT_EXTENSIBLE.</param>
/// <param name="FrameCount">Number of sample frames (one sample per channel each).</param>
/// <param name="DataOffset">Byte offset of the first sample.</param>
public sealed record WavInfo(
    string Source, int SampleRate, int Channels, WavSampleEncoding Encoding, int BitsPerSample,
    int ValidBitsPerSample, bool Extensible, long FrameCount, long DataOffset)
{
    /// <summary>Length in seconds.</summary>
    public double DurationSeconds => (double)FrameCount / SampleRate;

    /// <summary>
    /// Null for a file whose header sizes are real; for a streamed WAV (placeholder RIFF or data
    /// size, read to end of file) one line saying which sizes were placeholders, e.g.
    /// "streamed WAV (data size 0xFFFFFFFF in the header): read to end of file, 8000 frames".
    /// </summary>
    public string? Streamed { get; init; }

    /// <summary>Bytes per sample frame (block align).</summary>
    public int BlockAlign => Channels * (BitsPerSample / 8);

    /// <summary>A human-readable encoding, e.g. "PCM 16-bit signed" or "IEEE float 32-bit (extensible)".</summary>
    public string EncodingDescription
    {
        get
        {
            string s = Encoding switch
            {
                WavSampleEncoding.PcmUnsigned8 => "PCM 8-bit unsigned",
                WavSampleEncoding.PcmSigned16 => "PCM 16-bit signed",
                WavSampleEncoding.PcmSigned24 => "PCM 24-bit signed",
                WavSampleEncoding.PcmSigned32 => "PCM 32-bit signed",
                WavSampleEncoding.Float32 => "IEEE float 32-bit",
                _ => "IEEE float 64-bit",
            };
            if (ValidBitsPerSample != BitsPerSample) s += $", {ValidBitsPerSample} valid bits";
            return Extensible ? s + " (WAVE_FORMAT_EXTENSIBLE)" : s;
        }
    }
}

/// <summary>A decoded WAV file: its header facts and the samples mixed to mono.</summary>
/// <param name="Info">Header facts.</param>
/// <param name="Samples">Mono samples (channels averaged), one per frame, in [-1, 1).</param>
/// <param name="ClippedSamples">How many float-encoded samples lay outside [-1, 1) and were clamped.</param>
public sealed record WavAudio(WavInfo Info, float[] Samples, long ClippedSamples)
{
    /// <summary>Frames per second.</summary>
    public int SampleRate => Info.SampleRate;

    /// <summary>Channels in the file (the samples are mono).</summary>
    public int Channels => Info.Channels;

    /// <summary>Number of frames (= <c>Samples.Length</c>).</summary>
    public long FrameCount => Info.FrameCount;

    /// <summary>Length in seconds.</summary>
    public double DurationSeconds => Info.DurationSeconds;

    /// <summary>See <see cref="WavInfo.EncodingDescription"/>.</summary>
    public string EncodingDescription => Info.EncodingDescription;
}
