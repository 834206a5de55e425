namespace SerEngine.Backends.Cpu;

/// <summary>
/// A loop nest over several operands that share one index space (the output's dims), each with
/// its own strides (0 along a broadcast axis). <see cref="Collapse"/> drops size-1 axes and merges
/// neighbouring axes that are contiguous for every operand, so most elementwise work becomes a
/// few long rows: the last axis is the inner run (<see cref="Inner"/> elements), the axes before it
/// are walked by an odometer (<see cref="Seek"/>, <see cref="Next"/>) that keeps one offset per operand.
/// Legend: dims [rank], strides[operand][rank].
/// </summary>
internal sealed class StridedLoop
{
    private readonly int[] _dims;      // [rank]: outer axes then the inner one
    private readonly int[][] _strides; // [operands][rank]
    private readonly int[] _index;     // [rank − 1]: odometer over the outer axes
    private readonly long[] _offsets;  // [operands]

    private StridedLoop(int[] dims, int[][] strides)
    {
        _dims = dims;
        _strides = strides;
        _index = new int[Math.Max(0, dims.Length - 1)];
        _offsets = new long[strides.Length];
    }

    /// <summary>Length of the inner run.</summary>
    public int Inner => _dims[^1];

    /// <summary>Number of inner runs (the product of the outer axes).</summary>
    public long Rows { get; private set; }

    /// <summary>Stride of operand <paramref name="op"/> along the inner run.</summary>
    public int InnerStride(int op) => _strides[op][^1];

    /// <summary>Offset of operand <paramref name="op"/> at the start of the current run.</summary>
    public long Offset(int op) => _offsets[op];

    /// <summary>
    /// The loop over <paramref name="dims"/> with one stride array per operand (each as long as dims),
    /// with size-1 axes dropped and contiguous neighbours merged.
    /// </summary>
    public static StridedLoop Collapse(ReadOnlySpan<int> dims, params int[][] strides)
    {
        var d = new List<int>();
        var s = new List<int>[strides.Length];
        for (int o = 0; o < strides.Length; o++) s[o] = [];
        for (int axis = 0; axis < dims.Length; axis++)
        {
            if (dims[axis] == 1) continue;
            if (d.Count > 0)
            {
                // merge into the previous axis when, for every operand, it steps exactly over this one
                bool merge = true;
                for (int o = 0; o < strides.Length && merge; o++)
                    merge = s[o][^1] == (long)strides[o][axis] * dims[axis];
                if (merge)
                {
                    d[^1] *= dims[axis];
                    for (int o = 0; o < strides.Length; o++) s[o][^1] = strides[o][axis];
                    continue;
                }
            }
            d.Add(dims[axis]);
            for (int o = 0; o < strides.Length; o++) s[o].Add(strides[o][axis]);
        }
        if (d.Count == 0)
        {
            d.Add(1);
            for (int o = 0; o < strides.Length; o++) s[o].Add(0);
        }
        var loop = new StridedLoop([.. d], [.. s.Select(x => x.ToArray())]);
        long rows = 1;
        for (int i = 0; i < d.Count - 1; i++) rows *= d[i];
        loop.Rows = rows;
        return loop;
    }

    /// <summary>
    /// Splits the outer axes by operand <paramref name="op"/>'s stride: <c>Kept</c> walks the outer axes
    /// where it is non-zero, then the inner run; <c>Summed</c> walks the outer axes where it is zero
    /// (its inner run has length 1). Walking Kept outside Summed visits every element once, with each
    /// of op's elements owned by one Kept run.
    /// </summary>
    public (StridedLoop Kept, StridedLoop Summed) SplitOuter(int op)
    {
        var kd = new List<int>();
        var sd = new List<int>();
        var ks = new List<int>[_strides.Length];
        var ss = new List<int>[_strides.Length];
        for (int o = 0; o < _strides.Length; o++) { ks[o] = []; ss[o] = []; }
        for (int axis = 0; axis < _dims.Length - 1; axis++)
        {
            bool kept = _strides[op][axis] != 0;
            (kept ? kd : sd).Add(_dims[axis]);
            for (int o = 0; o < _strides.Length; o++) (kept ? ks : ss)[o].Add(_strides[o][axis]);
        }
        kd.Add(_dims[^1]);
        sd.Add(1);
        for (int o = 0; o < _strides.Length; o++) { ks[o].Add(_strides[o][^1]); ss[o].Add(0); }
        long kr = 1, sr = 1;
        for (int i = 0; i < kd.Count - 1; i++) kr *= kd[i];
        for (int i = 0; i < sd.Count - 1; i++) sr *= sd[i];
        return (new StridedLoop([.. kd], [.. ks.Select(x => x.ToArray())]) { Rows = kr },
            new StridedLoop([.. sd], [.. ss.Select(x => x.ToArray())]) { Rows = sr });
    }

    /// <summary>A loop whose outer axes are exactly <paramref name="dims"/> (no collapsing) and whose inner run has length 1.</summary>
    public static StridedLoop Outer(IReadOnlyList<int> dims, params IReadOnlyList<int>[] strides)
    {
        long rows = 1;
        foreach (int d in dims) rows *= d;
        return new StridedLoop([.. dims, 1], [.. strides.Select(s => (int[])[.. s, 0])]) { Rows = rows };
    }

    /// <summary>Extent of collapsed axis <paramref name="axis"/>.</summary>
    public int Dim(int axis) => _dims[axis];

    /// <summary>Number of collapsed axes (outer axes and the inner one).</summary>
    public int Rank => _dims.Length;

    /// <summary>Stride of operand <paramref name="op"/> along collapsed axis <paramref name="axis"/>.</summary>
    public int Stride(int op, int axis) => _strides[op][axis];

    /// <summary>An independent copy (each thread walks its own odometer).</summary>
    public StridedLoop Clone() => new(_dims, _strides) { Rows = Rows };

    /// <summary>Moves to the start of run <paramref name="row"/>.</summary>
    public void Seek(long row)
    {
        for (int o = 0; o < _offsets.Length; o++) _offsets[o] = 0;
        for (int axis = _index.Length - 1; axis >= 0; axis--)
        {
            int i = (int)(row % _dims[axis]);
            row /= _dims[axis];
            _index[axis] = i;
            for (int o = 0; o < _offsets.Length; o++) _offsets[o] += (long)i * _strides[o][axis];
        }
    }

    /// <summary>Moves to the next run.</summary>
    public void Next()
    {
        for (int axis = _index.Length - 1; axis >= 0; axis--)
        {
            for (int o = 0; o < _offsets.Length; o++) _offsets[o] += _strides[o][axis];
            if (++_index[axis] < _dims[axis]) return;
            for (int o = 0; o < _offsets.Length; o++) _offsets[o] -= (long)_dims[axis] * _strides[o][axis];
            _index[axis] = 0;
        }
    }

    /// <summary>Row-major strides of a contiguous tensor of <paramref name="dims"/>.</summary>
    public static int[] Contiguous(ReadOnlySpan<int> dims)
    {
        var s = new int[dims.Length];
        int acc = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }
}
