using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;

namespace SerEngine.Audio;

/// <summary>
/// Reads RIFF/WAVE files: PCM 8-bit unsigned, 16/24/32-bit signed, IEEE float 32/64-bit, also in
/// WAVE_FORMAT_EXTENSIBLE form, any channel count (mixed to mono by averaging). Unknown chunks are
/// skipped, odd-sized chunks carry their pad byte. Sample rates must lie in
/// <see cref="SampleRates.Min"/>..<see cref="SampleRates.Max"/>. Anything else is refused with an
/// <see cref="AudioFormatException"/> naming the file, the byte offset, and expected versus found;
/// sizes in the header are checked against the stream length before anything is allocated.
/// Streamed WAVs (written to a pipe, so the sizes could not be filled in afterwards) are read to
/// the end of the file when their RIFF or data size is a placeholder (see <see cref="IsPlaceholderSize"/>);
/// <see cref="WavInfo.Streamed"/> says so.
/// </summary>
public static class WavReader
{
    /// <summary>The largest float below 1; PCM full scale maps to [-1, this].</summary>
    public const float MaxBelowOne = 0.99999994f;

    // bytes 26..39 of a KSDATAFORMAT_SUBTYPE_* GUID: {XXXXXXXX-0000-0010-8000-00AA00389B71}
    private static readonly byte[] GuidTail = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

    /// <summary>
    /// The smallest size field a streaming writer puts in a header it cannot rewrite (espeak-ng
    /// writes 0x7FFFF000 and 0x7FFFF024, arecord 0x7FFFFFFF, ffmpeg 0xFFFFFFFF): 2 GiB − 64 KiB.
    /// </summary>
    public const uint StreamedSizeFloor = 0x7FFF0000;

    /// <summary>Reads only the header of a file (no samples are decoded).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist ("PATH does not exist").</exception>
    /// <exception cref="IOException">The path is a folder or cannot be read (one line naming it).</exception>
    /// <exception cref="AudioFormatException">The file is not a WAV file this reader understands.</exception>
    public static WavInfo ReadInfo(string path)
    {
        using var fs = Open(path, 4096);
        return fs.CanSeek ? ReadHeader(fs, path) : Read(fs, path).Info;
    }

    /// <summary>Reads and decodes a file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist ("PATH does not exist").</exception>
    /// <exception cref="IOException">The path is a folder or cannot be read (one line naming it).</exception>
    /// <exception cref="AudioFormatException">The file is not a WAV file this reader understands.</exception>
    public static WavAudio Read(string path)
    {
        using var fs = Open(path, 0);
        if (!fs.CanSeek || fs.Length > MaxWholeFileBytes) return Read(new BufferedStream(fs, 1 << 16), path);
        // the whole file in one read into a pooled buffer: no stream buffer and no second copy per file (corpora read hundreds)
        int length = (int)fs.Length;
        byte[] bytes = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            int got = 0, n;
            while (got < length && (n = RandomAccess.Read(fs.SafeFileHandle, bytes.AsSpan(got, length - got), got)) > 0) got += n;
            using var ms = new MemoryStream(bytes, 0, got, writable: false, publiclyVisible: true);
            return Read(ms, path);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>Files up to this size are read whole into a pooled buffer; longer ones are streamed.</summary>
    private const long MaxWholeFileBytes = 1 << 24;

    /// <summary>
    /// Whether a RIFF or data size field that runs past the end of the file is a streaming writer's
    /// placeholder, not a real size: 0, or at least <see cref="StreamedSizeFloor"/> (0xFFFFFFFF included).
    /// </summary>
    public static bool IsPlaceholderSize(uint size) => size == 0 || size >= StreamedSizeFloor;

    /// <summary>Opens a file for reading; a missing file, a folder or a refused open become one line naming the path.</summary>
    private static FileStream Open(string path, int bufferSize)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new IOException($"{path} is a folder, expected a WAV file");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist", path);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize);
        }
        catch (FileNotFoundException)
        {
            throw new FileNotFoundException($"{path} does not exist", path); // removed between the check and the open
        }
        catch (DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"{path} does not exist", path);
        }
        catch (UnauthorizedAccessException)
        {
            throw new IOException($"{path} cannot be read: permission denied");
        }
        catch (IOException ex)
        {
            throw new IOException($"{path} cannot be opened ({ex.Message.ReplaceLineEndings(" ")})");
        }
    }

    /// <summary>Decodes the bytes of a WAV file; <paramref name="source"/> names them in errors.</summary>
    public static WavAudio Parse(byte[] data, string source)
    {
        using var ms = new MemoryStream(data, writable: false);
        return Read(ms, source);
    }

    /// <summary>Most bytes read from a stream that cannot seek (a pipe, a FIFO): it is copied to memory first.</summary>
    public const long MaxUnseekableBytes = 1L << 30;

    /// <summary>
    /// Decodes a WAV stream from its current position (which must be the RIFF header). A stream
    /// that cannot seek is first copied to memory, at most <see cref="MaxUnseekableBytes"/> of it.
    /// </summary>
    public static WavAudio Read(Stream stream, string source) => Read(stream, source, MaxUnseekableBytes);

    internal static WavAudio Read(Stream stream, string source, long maxUnseekableBytes)
    {
        if (!stream.CanSeek)
        {
            using var copy = new MemoryStream();
            var buffer = new byte[81920];
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                // an endless pipe must not grow memory without bound
                if (copy.Length + n > maxUnseekableBytes)
                    throw new AudioFormatException(source, maxUnseekableBytes, string.Create(CultureInfo.InvariantCulture,
                        $"a WAV read from a pipe may hold at most {maxUnseekableBytes} bytes, this one has more; save it to a file"));
                copy.Write(buffer, 0, n);
                if (copy.Length >= 12 && !LooksLikeWav(copy.GetBuffer())) break; // the header check below says what it is
            }
            copy.Position = 0;
            return Read(copy, source, maxUnseekableBytes);
        }
        long start = stream.Position;
        var info = ReadHeader(stream, source);
        var (samples, clipped) = Decode(stream, start, info);
        return new WavAudio(info, samples, clipped);
    }

    private static bool LooksLikeWav(byte[] head) => "RIFF"u8.SequenceEqual(head.AsSpan(0, 4)) && "WAVE"u8.SequenceEqual(head.AsSpan(8, 4));

    /// <summary>Parses the RIFF header and chunk list (offsets relative to the stream's position); leaves the stream anywhere.</summary>
    private static WavInfo ReadHeader(Stream stream, string source)
    {
        long start = stream.Position;
        long length = stream.Length - start;
        AudioFormatException Err(long offset, string problem) => new(source, offset, problem);

        Span<byte> head = stackalloc byte[12];
        if (length < 12) throw Err(0, $"expected a 12-byte RIFF/WAVE header, found {length} bytes (truncated file)");
        stream.ReadExactly(head);
        string riff = FourCc(head[..4]);
        if (riff == "RIFX") throw Err(0, "expected 'RIFF', found 'RIFX' (big-endian WAV is not supported)");
        if (riff == "RF64") throw Err(0, "expected 'RIFF', found 'RF64' (RF64 is not supported)");
        if (riff != "RIFF") throw Err(0, $"expected 'RIFF', found {Quote(riff)}: not a WAV file");
        uint riffSize = BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
        long riffEnd = 8 + (long)riffSize;
        string wave = FourCc(head[8..12]);
        if (wave != "WAVE") throw Err(8, $"expected 'WAVE', found {Quote(wave)}: a RIFF file but not WAV");
        var streamed = new List<string>();
        // a size past the end of the file is a streaming writer's placeholder when it is 0 or >= 0x7FFF0000 (read to end of file), else the file is truncated
        if (riffEnd > length || riffSize == 0)
        {
            if (!IsPlaceholderSize(riffSize))
                throw Err(4, $"RIFF size says the file has {riffEnd} bytes, found {length} (truncated file; a streamed WAV's placeholder would be 0 or >= 0x{StreamedSizeFloor:X8})");
            streamed.Add($"RIFF size 0x{riffSize:X8}");
            riffEnd = length;
        }

        Span<byte> fmt = stackalloc byte[40];
        int fmtSize = -1;
        long fmtOffset = -1, dataOffset = -1, dataSize = 0;
        bool dataStreamed = false;
        var seen = new List<string>();
        long pos = 12;
        Span<byte> ch = stackalloc byte[8];
        while (pos < riffEnd)
        {
            if (riffEnd - pos < 8 && streamed.Count > 0) break; // a streamed file may end in a few stray bytes
            if (riffEnd - pos < 8)
                throw Err(pos, $"expected an 8-byte chunk header, found {riffEnd - pos} bytes (truncated file)");
            stream.Position = start + pos;
            stream.ReadExactly(ch);
            string id = FourCc(ch[..4]);
            uint sizeField = BinaryPrimitives.ReadUInt32LittleEndian(ch[4..]);
            long size = sizeField;
            long body = pos + 8;
            // data size 0 counts as a placeholder only when bytes follow and the RIFF size is one too or stops at this header (no data counted)
            bool zeroPlaceholder = sizeField == 0 && length > body && (streamed.Count > 0 || riffEnd <= body);
            if (id == "data" && dataOffset < 0 && (zeroPlaceholder || (size > length - body && IsPlaceholderSize(sizeField))))
            {
                // the samples run to the end of the file (past a RIFF size that ends before them, too); nothing can follow them
                streamed.Add($"data size 0x{sizeField:X8}");
                dataStreamed = true;
                dataOffset = body;
                dataSize = length - body;
                seen.Add(Quote(id));
                break;
            }
            if (size > riffEnd - body)
                throw Err(pos + 4, $"chunk {Quote(id)} claims {size} bytes, only {riffEnd - body} remain (truncated file{(id == "data" ? $"; a streamed WAV's placeholder would be 0 or >= 0x{StreamedSizeFloor:X8}" : "")})");
            seen.Add(Quote(id));
            if (id == "fmt " && fmtSize < 0)
            {
                if (size < 16) throw Err(pos + 4, $"'fmt ' chunk has {size} bytes, expected at least 16");
                fmtSize = (int)Math.Min(size, 40);
                fmtOffset = body;
                stream.ReadExactly(fmt[..fmtSize]);
            }
            else if (id == "data" && dataOffset < 0)
            {
                dataOffset = body;
                dataSize = size;
            }
            pos = body + size + (size & 1); // a missing pad byte after the last chunk ends the loop
        }
        string chunks = seen.Count == 0 ? "none" : string.Join(", ", seen);
        if (fmtSize < 0) throw Err(Math.Min(pos, riffEnd), $"no 'fmt ' chunk, expected one (chunks found: {chunks})");
        if (dataOffset < 0) throw Err(Math.Min(pos, riffEnd), $"no 'data' chunk, expected one (chunks found: {chunks})");

        var f = ParseFmt(fmt[..fmtSize], fmtOffset, Err);
        int blockAlign = f.Channels * (f.Bits / 8);
        long partial = dataSize % blockAlign;
        if (dataSize == 0) throw Err(dataOffset - 4, "data chunk is empty, expected at least one sample frame");
        if (partial != 0 && !dataStreamed)
            throw Err(dataOffset - 4, $"data chunk has {dataSize} bytes, expected a multiple of the block align {blockAlign} (partial frame)");
        if (dataSize < blockAlign)
            throw Err(dataOffset - 4, $"data chunk of a streamed WAV ({streamed[^1]}) holds {dataSize} bytes to the end of the file, expected at least one {blockAlign}-byte sample frame");
        long frames = dataSize / blockAlign; // a streamed file cut mid-frame keeps its whole frames
        if (frames > Array.MaxLength)
            throw Err(dataOffset - 4, $"data chunk holds {frames} frames, at most {Array.MaxLength} are supported");
        string? note = streamed.Count == 0 ? null
            : $"streamed WAV ({string.Join(", ", streamed)} in the header): read to end of file, {frames} frames{(partial != 0 ? $", {partial} trailing bytes of a partial frame dropped" : "")}";
        return new WavInfo(source, f.Rate, f.Channels, f.Encoding, f.Bits, f.ValidBits, f.Extensible, frames, dataOffset) { Streamed = note };
    }

    private readonly record struct Fmt(int Channels, int Rate, WavSampleEncoding Encoding, int Bits, int ValidBits, bool Extensible);

    private static Fmt ParseFmt(ReadOnlySpan<byte> b, long at, Func<long, string, AudioFormatException> err)
    {
        int tag = BinaryPrimitives.ReadUInt16LittleEndian(b);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]);
        uint rate = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(b[12..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(b[14..]);
        int validBits = bits;
        bool extensible = tag == 0xFFFE;
        if (extensible)
        {
            if (b.Length < 40)
                throw err(at, $"WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk has {b.Length} bytes, expected 40");
            int cb = BinaryPrimitives.ReadUInt16LittleEndian(b[16..]);
            if (cb < 22) throw err(at + 16, $"WAVE_FORMAT_EXTENSIBLE extension size {cb}, expected 22");
            validBits = BinaryPrimitives.ReadUInt16LittleEndian(b[18..]);
            if (validBits == 0) validBits = bits;
            if (validBits > bits) throw err(at + 18, $"valid bits per sample {validBits}, expected at most the container's {bits}");
            if (!b[26..40].SequenceEqual(GuidTail))
                throw err(at + 24, $"sub-format GUID {new Guid(b[24..40])}, expected a PCM or IEEE float KSDATAFORMAT_SUBTYPE GUID");
            tag = BinaryPrimitives.ReadUInt16LittleEndian(b[24..]);
        }
        if (tag != 1 && tag != 3)
            throw err(extensible ? at + 24 : at,
                $"unsupported encoding 0x{tag:X4} ({EncodingName(tag)}), expected PCM (0x0001) or IEEE float (0x0003)");
        if (channels == 0) throw err(at + 2, "channel count 0, expected at least 1");
        if (!SampleRates.IsSupported(rate))
            throw err(at + 4, $"fmt sample rate {rate} Hz, expected {SampleRates.Range}");
        WavSampleEncoding enc;
        if (tag == 1)
        {
            enc = bits switch
            {
                8 => WavSampleEncoding.PcmUnsigned8,
                16 => WavSampleEncoding.PcmSigned16,
                24 => WavSampleEncoding.PcmSigned24,
                32 => WavSampleEncoding.PcmSigned32,
                _ => throw err(at + 14, $"PCM with {bits} bits per sample, expected 8, 16, 24 or 32"),
            };
        }
        else
        {
            enc = bits switch
            {
                32 => WavSampleEncoding.Float32,
                64 => WavSampleEncoding.Float64,
                _ => throw err(at + 14, $"IEEE float with {bits} bits per sample, expected 32 or 64"),
            };
        }
        int expectedAlign = channels * (bits / 8);
        if (blockAlign != expectedAlign)
            throw err(at + 12, $"block align {blockAlign}, expected {channels} channels x {bits / 8} bytes = {expectedAlign}");
        return new Fmt(channels, (int)rate, enc, bits, validBits, extensible);
    }

    /// <summary>The name of a WAVE format tag, for error messages.</summary>
    public static string EncodingName(int tag) => tag switch
    {
        0x0000 => "unknown",
        0x0001 => "PCM",
        0x0002 => "Microsoft ADPCM",
        0x0003 => "IEEE float",
        0x0006 => "A-law",
        0x0007 => "mu-law",
        0x0010 => "OKI ADPCM",
        0x0011 => "IMA ADPCM",
        0x0022 => "DSP Group TrueSpeech",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0050 => "MPEG",
        0x0055 => "MPEG Layer 3",
        0x0092 => "Dolby AC-3 SPDIF",
        0x0160 or 0x0161 or 0x0162 or 0x0163 => "Windows Media Audio",
        0x1610 => "AAC",
        0xF1AC => "FLAC",
        _ => "not a known WAV encoding",
    };

    /// <summary>Decodes the data chunk into mono floats (channel average computed in double).</summary>
    private static (float[] Samples, long Clipped) Decode(Stream stream, long start, WavInfo info)
    {
        int channels = info.Channels, bytes = info.BitsPerSample / 8, block = info.BlockAlign;
        long frames = info.FrameCount;
        // every frame is written below; the pages are mapped in one call, not faulted in one by one
        var mono = SerEngine.Backends.Cpu.PagePrefault.Populate(GC.AllocateUninitializedArray<float>(checked((int)frames))); // [frames]
        long clipped = 0;
        int framesPerChunk = Math.Max(1, (1 << 16) / block);
        stream.Position = start + info.DataOffset;
        // a memory stream's bytes are decoded where they lie, without a copy into a chunk buffer
        byte[]? whole = null;
        int wholeAt = 0;
        if (stream is MemoryStream ms && ms.TryGetBuffer(out var seg))
            (whole, wholeAt) = (seg.Array, seg.Offset + (int)ms.Position);
        var buf = whole is null ? new byte[framesPerChunk * block] : [];
        double invChannels = 1.0 / channels;
        bool isFloat = info.Encoding is WavSampleEncoding.Float32 or WavSampleEncoding.Float64;
        bool pcm16 = info.Encoding == WavSampleEncoding.PcmSigned16 && channels <= 2 && block == 2 * channels;
        for (long f0 = 0; f0 < frames; f0 += framesPerChunk)
        {
            int n = (int)Math.Min(framesPerChunk, frames - f0);
            Span<byte> span;
            if (whole is not null) span = whole.AsSpan(wholeAt + (int)(f0 * block), n * block);
            else
            {
                span = buf.AsSpan(0, n * block);
                stream.ReadExactly(span);
            }
            if (pcm16)
            {
                Pcm16ToMono(span, channels, mono.AsSpan((int)f0, n));
                continue;
            }
            for (int i = 0; i < n; i++)
            {
                double sum = 0;
                for (int c = 0; c < channels; c++)
                {
                    var s = span.Slice(i * block + c * bytes, bytes);
                    double v = info.Encoding switch
                    {
                        WavSampleEncoding.PcmUnsigned8 => (s[0] - 128) / 128.0,
                        WavSampleEncoding.PcmSigned16 => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768.0,
                        WavSampleEncoding.PcmSigned24 => ((s[0] << 8 | s[1] << 16 | s[2] << 24) >> 8) / 8388608.0,
                        WavSampleEncoding.PcmSigned32 => BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0,
                        WavSampleEncoding.Float32 => BinaryPrimitives.ReadSingleLittleEndian(s),
                        _ => BinaryPrimitives.ReadDoubleLittleEndian(s),
                    };
                    if (isFloat && !double.IsFinite(v))
                    {
                        long off = info.DataOffset + (f0 + i) * block + c * bytes;
                        throw new AudioFormatException(info.Source, off, $"sample of frame {f0 + i}, channel {c} is {v}, expected a finite value");
                    }
                    sum += v;
                }
                double m = sum * invChannels;
                if (m >= 1.0 || m < -1.0)
                {
                    if (isFloat) clipped++;
                    m = Math.Clamp(m, -1.0, 1.0);
                }
                float x = (float)m;
                mono[f0 + i] = x >= 1f ? MaxBelowOne : x;
            }
        }
        return (mono, clipped);
    }

    /// <summary>
    /// 16-bit PCM, one or two channels, to mono: the general loop's value exactly (s / 2^15, or the two channels'
    /// mean (a + b) / 2^16, is exact in float and never reaches ±1 clipping), without its per-sample switch.
    /// </summary>
    private static void Pcm16ToMono(ReadOnlySpan<byte> data, int channels, Span<float> mono)
    {
        var s = MemoryMarshal.Cast<byte, short>(data); // little-endian host (x86, Arm64)
        if (!BitConverter.IsLittleEndian)
        {
            for (int i = 0; i < mono.Length; i++)
                mono[i] = channels == 1 ? BinaryPrimitives.ReverseEndianness(s[i]) / 32768f
                    : (BinaryPrimitives.ReverseEndianness(s[2 * i]) + BinaryPrimitives.ReverseEndianness(s[2 * i + 1])) / 65536f;
            return;
        }
        if (channels == 1) Pcm16MonoToFloat(s, mono);
        else
            for (int i = 0; i < mono.Length; i++) mono[i] = (s[2 * i] + s[2 * i + 1]) * (1f / 65536f);
    }

    /// <summary>
    /// One-channel 16-bit samples to floats, s / 2^15, eight at a time where Vector256 is accelerated (widening and
    /// converting a short is exact, so every value equals <see cref="Pcm16MonoToFloatReference"/>'s).
    /// </summary>
    internal static void Pcm16MonoToFloat(ReadOnlySpan<short> s, Span<float> mono)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && mono.Length >= 16)
        {
            var scale = Vector256.Create(1f / 32768f);
            ref short src = ref MemoryMarshal.GetReference(s);
            ref float dst = ref MemoryMarshal.GetReference(mono);
            for (; i <= mono.Length - 16; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i));
                (Vector256.ConvertToSingle(lo) * scale).StoreUnsafe(ref dst, (nuint)i);
                (Vector256.ConvertToSingle(hi) * scale).StoreUnsafe(ref dst, (nuint)i + 8);
            }
        }
        Pcm16MonoToFloatReference(s[i..mono.Length], mono[i..]);
    }

    /// <summary>The scalar form of <see cref="Pcm16MonoToFloat"/> (its tail, and the reference its test compares with).</summary>
    internal static void Pcm16MonoToFloatReference(ReadOnlySpan<short> s, Span<float> mono)
    {
        for (int i = 0; i < mono.Length; i++) mono[i] = s[i] * (1f / 32768f);
    }

    private static string Quote(string fourCc) => fourCc.Length == 4 ? "'" + fourCc + "'" : fourCc;

    private static string FourCc(ReadOnlySpan<byte> b)
    {
        foreach (byte c in b)
            if (c < 0x20 || c > 0x7E) return "0x" + Convert.ToHexString(b);
        return Encoding.ASCII.GetString(b);
    }
}
