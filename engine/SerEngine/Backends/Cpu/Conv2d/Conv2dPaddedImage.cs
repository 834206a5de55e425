using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

/// <summary>
/// The zero-padded copy of an image [Planes, H, W] that the direct, Winograd, channel-vector and
/// shifted-window paths read instead of checking bounds per tap: pixel (i, j) of plane c lies at
/// c·PlaneLength + (i + Top)·Pitch + j + Left of a buffer of <see cref="Length"/> floats, zeros
/// everywhere else (each path's pitch and slack leave room for the reads past a row it drops).
/// </summary>
/// <param name="Planes">Planes (channels) of the image.</param>
/// <param name="H">Rows of a plane.</param>
/// <param name="W">Columns of a plane.</param>
/// <param name="Top">Zero rows above each plane.</param>
/// <param name="Left">Zero columns before each row.</param>
/// <param name="Pitch">Floats from one padded row to the next.</param>
/// <param name="PlaneLength">Floats from one padded plane to the next.</param>
/// <param name="Length">Floats of the whole padded image.</param>
internal readonly record struct PaddedImage(int Planes, int H, int W, int Top, int Left, int Pitch, int PlaneLength, int Length)
{
    /// <summary>Writes image src [Planes, H, W] into dst [Length] with its zero padding.</summary>
    public unsafe void Write(float* src, float* dst)
    {
        // only the zeros between the rows are cleared (clearing the whole buffer first wrote the data twice);
        // the rows lie in increasing order: Left + W ≤ Pitch and Top + H rows within a plane
        System.Diagnostics.Debug.Assert(Left + W <= Pitch && (long)(Top + H) * Pitch <= PlaneLength);
        if (W >= 8 && Vector256.IsHardwareAccelerated)
        {
            WriteShortRows(src, dst);
            return;
        }
        long done = 0;
        for (int c = 0; c < Planes; c++)
            for (int i = 0; i < H; i++)
            {
                long start = (long)c * PlaneLength + (long)(i + Top) * Pitch + Left;
                new Span<float>(dst + done, (int)(start - done)).Clear();
                CopyFloats(dst + start, src + ((long)c * H + i) * W, W);
                done = start + W;
            }
        new Span<float>(dst + done, (int)(Length - done)).Clear();
    }

    /// <summary>
    /// <see cref="Write"/> with 8-float vectors in line instead of a clear and a copy call per row (the calls cost more than
    /// rows of a few dozen floats): each gap is zeroed 8 floats at a time, overshooting into the row after it, which is
    /// written next; each row is copied 8 at a time, its last 8 floats as one more (overlapping) vector.
    /// </summary>
    private unsafe void WriteShortRows(float* src, float* dst)
    {
        var zero = Vector256<float>.Zero;
        long done = 0;
        for (int c = 0; c < Planes; c++)
            for (int i = 0; i < H; i++)
            {
                long start = (long)c * PlaneLength + (long)(i + Top) * Pitch + Left;
                for (long z = done; z < start; z += 8) zero.Store(dst + z); // ends at most 7 floats into this row
                float* from = src + ((long)c * H + i) * W, to = dst + start;
                int j = 0;
                for (; j + 8 <= W; j += 8) Vector256.Load(from + j).Store(to + j);
                if (j < W) Vector256.Load(from + W - 8).Store(to + W - 8);
                done = start + W;
            }
        new Span<float>(dst + done, (int)(Length - done)).Clear();
    }

    /// <summary>
    /// Writes only padded rows [<paramref name="p0"/>, <paramref name="p1"/>) of every plane of dst (their data and zeros, whole
    /// rows of <see cref="Pitch"/> floats), nothing else: a task that reads only those rows pads them into its own buffer
    /// (one image cut among threads by tile rows: each pads its share instead of one thread padding all while the others wait).
    /// Needs W ≥ 8 and Pitch ≥ Left + W (rows are zeroed, then their data copied, 8 floats at a time).
    /// </summary>
    public unsafe void WriteRows(float* src, float* dst, int p0, int p1)
    {
        System.Diagnostics.Debug.Assert(W >= 8 && Pitch >= 8 && Left + W <= Pitch && p0 >= 0 && p1 * (long)Pitch <= PlaneLength);
        var zero = Vector256<float>.Zero;
        for (int c = 0; c < Planes; c++)
            for (int p = p0; p < p1; p++)
            {
                float* to = dst + (long)c * PlaneLength + (long)p * Pitch;
                int z = 0;
                for (; z + 8 <= Pitch; z += 8) zero.Store(to + z);
                if (z < Pitch) zero.Store(to + Pitch - 8);
                int i = p - Top;
                if (i < 0 || i >= H) continue;
                float* from = src + ((long)c * H + i) * W;
                to += Left;
                int j = 0;
                for (; j + 8 <= W; j += 8) Vector256.Load(from + j).Store(to + j);
                if (j < W) Vector256.Load(from + W - 8).Store(to + W - 8);
            }
    }

    /// <summary>
    /// off[t] for tap t = (c, r, s) of an r×s filter with dilations (dilH, dilW): c·PlaneLength +
    /// r·dilH·Pitch + s·dilW, the tap's shift in the padded image; <paramref name="length"/> ≥ Planes·R·S
    /// entries, those past the taps 0 (the padding of a group of taps reads offset 0 and is dropped).
    /// </summary>
    public int[] TapOffsets(int r, int s, int dilH, int dilW, int length)
    {
        var off = new int[length];
        TapOffsets(r, s, dilH, dilW, off);
        return off;
    }

    /// <summary>The same offsets written into <paramref name="off"/> (a caller's buffer, e.g. a rented one; cleared first).</summary>
    public void TapOffsets(int r, int s, int dilH, int dilW, Span<int> off)
    {
        off.Clear();
        for (int c = 0; c < Planes; c++)
            for (int i = 0; i < r; i++)
                for (int j = 0; j < s; j++)
                    off[(c * r + i) * s + j] = c * PlaneLength + i * dilH * Pitch + j * dilW;
    }
}

/// <summary>
/// Sizes of one convolution read from padded images (the shifted-window and channel-vector paths):
/// input [N, Cin, Hin, Win] → output [N, Cout, Hout, Wout] at stride 1 over the padded planes.
/// </summary>
internal readonly record struct PaddedConv(int N, int Cin, int Hin, int Win, int Cout, int R, int S,
    int PadTop, int PadBottom, int PadLeft, int PadRight, int DilH, int DilW)
{
    public int Hp => Hin + PadTop + PadBottom;

    /// <summary>
    /// Row pitch of the padded planes and width of the virtual output grid: W plus the wider of the
    /// two side paddings, not their sum. The zeros after a row's data serve as its right padding
    /// and as the next row's left padding (a tap reaching past the right edge lands in them, as
    /// does one reaching before the left edge), so fewer dropped columns are computed
    /// (24 × 36 maps with a 5 × 5 kernel: 38 columns instead of 40).
    /// </summary>
    public int Wp => Math.Max(Win + Math.Max(PadLeft, PadRight), Wout);
    public int Hout => Hp - DilH * (R - 1);
    public int Wout => Win + PadLeft + PadRight - DilW * (S - 1);
    public int Taps => Cin * R * S;

    /// <summary>Floats of one padded image: the planes plus zero slack for the tiles' dropped columns.</summary>
    public int ImageLength => Cin * Hp * Wp + 16 + DilW * (S - 1);

    /// <summary>The layout of one padded image: planes of Hp × Wp, then the slack.</summary>
    public PaddedImage Image => new(Cin, Hin, Win, PadTop, PadLeft, Wp, Hp * Wp, ImageLength);

    /// <summary>The forward convolution of <paramref name="g"/>: x is the image, w's K rows the outputs.</summary>
    public static PaddedConv Forward(in Conv2dGeometry g) =>
        new(g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.PadTop, g.PadBottom, g.PadLeft, g.PadRight, g.DilationH, g.DilationW);

    /// <summary>Backward-input of <paramref name="g"/> (stride 1) as a forward convolution (<see cref="Conv2dAdjoint"/>).</summary>
    public static PaddedConv Adjoint(in Conv2dGeometry g) => Forward(Conv2dAdjoint.Geometry(g));

    /// <summary>Tap offsets into one padded image (<see cref="PaddedImage.TapOffsets(int, int, int, int, int)"/>), <paramref name="length"/> ≥ <see cref="Taps"/> entries.</summary>
    public int[] TapOffsets(int length) => Image.TapOffsets(R, S, DilH, DilW, length);

    /// <summary>Writes image src [Cin, Hin, Win] with its zero padding (and zero slack) into dst [ImageLength].</summary>
    public unsafe void Pad(float* src, float* dst) => Image.Write(src, dst);
}
