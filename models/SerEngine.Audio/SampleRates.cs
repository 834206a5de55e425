using System.Globalization;

namespace SerEngine.Audio;

/// <summary>
/// The sample rates the front end accepts, in one place: the WAV reader refuses a file whose
/// header says otherwise, and <see cref="Resampler"/> and <c>EmotionRecognizer.Predict</c> refuse
/// such rates as arguments. The range bounds what a rate can cost: resampling to 16 kHz grows a
/// signal at most 16 times and shrinks it at most 48 times, so a small file stays small.
/// </summary>
public static class SampleRates
{
    /// <summary>The lowest rate accepted, in Hz (below telephone band; a 1 Hz header is a hostile or broken file).</summary>
    public const int Min = 1000;

    /// <summary>The highest rate accepted, in Hz (the highest rate professional converters offer).</summary>
    public const int Max = 768_000;

    /// <summary>Whether <paramref name="rate"/> (Hz) lies in [<see cref="Min"/>, <see cref="Max"/>].</summary>
    public static bool IsSupported(long rate) => rate is >= Min and <= Max;

    /// <summary>The range as messages print it: "1000..768000 Hz".</summary>
    public static string Range => string.Create(CultureInfo.InvariantCulture, $"{Min}..{Max} Hz");

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="paramName"/> when <paramref name="rate"/> is outside the range.</summary>
    public static void ThrowIfUnsupported(int rate, string paramName)
    {
        if (!IsSupported(rate))
            throw new ArgumentOutOfRangeException(paramName, rate, $"sample rate {rate} Hz is outside the supported {Range}");
    }
}
