namespace SerEngine.Backends;

/// <summary>
/// The small set of primitives every backend implements; autograd and the ops sit above it.
/// Buffers are flat <see cref="Storage"/> objects and shapes travel as arguments, so a primitive
/// reads like the kernel that implements it. Outputs are allocated by the caller and overwritten
/// (never accumulated into) unless a parameter says otherwise. Dimension legend used in the docs:
/// N batch, C/K channels in/out, H/W spatial, R/S kernel, M/N/K GEMM sizes.
/// </summary>
public abstract partial class Backend
{
    private long _liveBytes;

    /// <summary>Registry name: <c>cpu-reference</c>, <c>cpu</c>, <c>opencl</c>, <c>cuda</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Human-readable device description (for <c>ser devices</c>).</summary>
    public abstract string DeviceName { get; }

    /// <summary>Bytes currently allocated by this backend and not yet released.</summary>
    public long LiveBytes => Interlocked.Read(ref _liveBytes);

    /// <inheritdoc/>
    public override string ToString() => Name;

    // ---- memory -------------------------------------------------------------------------------

    /// <summary>Allocates <paramref name="length"/> elements (contents undefined).</summary>
    public Storage Allocate(int length, DType dtype)
    {
        var s = AllocateCore(length, dtype);
        Interlocked.Add(ref _liveBytes, (long)length * dtype.ElementSize());
        return s;
    }

    /// <summary>Backend-specific allocation.</summary>
    protected abstract Storage AllocateCore(int length, DType dtype);

    /// <summary>Returns the storage's memory; called when its last reference is released.</summary>
    internal void Free(Storage storage)
    {
        Interlocked.Add(ref _liveBytes, -(long)storage.Length * storage.DType.ElementSize());
        FreeCore(storage);
    }

    /// <summary>Backend-specific release.</summary>
    protected abstract void FreeCore(Storage storage);

    /// <summary>Copies host floats into a Float32 storage.</summary>
    public abstract void Write(Storage dst, ReadOnlySpan<float> src);

    /// <summary>Copies host ints into an Int32 storage.</summary>
    public abstract void Write(Storage dst, ReadOnlySpan<int> src);

    /// <summary>Copies a Float32 storage to the host.</summary>
    public abstract void Read(Storage src, Span<float> dst);

    /// <summary>Copies an Int32 storage to the host.</summary>
    public abstract void Read(Storage src, Span<int> dst);

    /// <summary>Sets the first <paramref name="n"/> elements to <paramref name="value"/>.</summary>
    public abstract void Fill(Storage y, int n, float value);

    /// <summary>
    /// Copies <paramref name="count"/> blocks of <paramref name="blockLength"/> elements:
    /// block i goes from src[srcOffset + i·srcStride ..] to dst[dstOffset + i·dstStride ..].
    /// Concat, split, slicing and plain copies are all this one primitive.
    /// </summary>
    public abstract void CopyBlocks(Storage src, int srcOffset, int srcStride, Storage dst, int dstOffset, int dstStride, int blockLength, int count);

    // ---- elementwise --------------------------------------------------------------------------

    /// <summary>y = a op b with NumPy broadcasting; yShape is the broadcast of aShape and bShape. y may alias a.</summary>
    public abstract void Binary(BinaryOp op, Storage a, Shape aShape, Storage b, Shape bShape, Storage y, Shape yShape);

    /// <summary>y = op(x) over n elements. y may alias x.</summary>
    public abstract void Unary(UnaryOp op, Storage x, Storage y, int n, float alpha);

    /// <summary>dx = dy · op'(x) over n elements, given x and y = op(x) (each op uses whichever is cheaper).</summary>
    public abstract void UnaryBackward(UnaryOp op, Storage x, Storage y, Storage dy, Storage dx, int n, float alpha);

    /// <summary>
    /// y = x summed down to yShape: yShape has x's rank and each of its dims equals x's or is 1
    /// (the adjoint of broadcasting; also sum over axes with keepdim).
    /// </summary>
    public abstract void SumTo(Storage x, Shape xShape, Storage y, Shape yShape);

    /// <summary>y = x broadcast up to yShape (same rank; x dims equal or 1).</summary>
    public abstract void BroadcastTo(Storage x, Shape xShape, Storage y, Shape yShape);

    /// <summary>y = x with axes permuted: y.shape[i] = x.shape[perm[i]].</summary>
    public abstract void Permute(Storage x, Shape xShape, int[] perm, Storage y);

    /// <summary>Writes a dropout mask of n elements: 0 with probability p, else 1/(1−p); deterministic in seed.</summary>
    public abstract void DropoutMask(Storage mask, int n, float p, ulong seed);

    // ---- linear algebra -----------------------------------------------------------------------

    /// <summary>
    /// Batched GEMM: for each of <paramref name="batch"/> items,
    /// C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C, where op transposes when asked.
    /// A is stored [m, k] (or [k, m] when transA), B is [k, n] (or [n, k] when transB), C is [m, n];
    /// consecutive batch items are strideA/strideB/strideC elements apart (stride 0 = shared).
    /// beta = 0 means C is overwritten (its old contents are ignored, even NaN).
    /// </summary>
    public abstract void Gemm(bool transA, bool transB, int batch, int m, int n, int k,
        float alpha, Storage a, int strideA, Storage b, int strideB, float beta, Storage c, int strideC);

    /// <summary>
    /// Prepares A [m, k] (or [k, m] when <paramref name="transA"/>) for repeated products
    /// <see cref="GemmPackedA"/> (a weight matrix in inference). The default keeps the storage as it is;
    /// a backend may pack it once into its micro-kernel's layout. The result reads the values as they
    /// are now (or the storage itself): pack again after the source changes.
    /// </summary>
    public virtual PackedGemmA PackGemmA(Storage a, bool transA, int m, int k) => new(this, a, transA, m, k);

    /// <summary>
    /// <see cref="Gemm"/> with a prepared A shared by every item and an optional bias per row:
    /// C_item [m, n] = alpha · A · op(B_item) + beta · C_item (+ rowBias[i] on row i), m and k those of
    /// <paramref name="a"/> (with a bias, items of C lie back to back). The default multiplies
    /// <see cref="PackedGemmA.Source"/> with <see cref="Gemm"/>, then adds the bias.
    /// </summary>
    public virtual void GemmPackedA(PackedGemmA a, bool transB, int batch, int n,
        float alpha, Storage b, int strideB, float beta, Storage c, int strideC, Storage? rowBias = null)
    {
        if (!ReferenceEquals(a.Backend, this)) throw new ArgumentException("gemm: the packed operand belongs to another backend");
        Gemm(a.Trans, transB, batch, a.Rows, n, a.Depth, alpha, a.Source, 0, b, strideB, beta, c, strideC);
        if (rowBias is null || batch <= 0 || n <= 0) return;
        if (strideC == 0) batch = 1;
        var shape = new Shape(batch, a.Rows, n); // items strideC apart: only a dense stack is one broadcast
        if (strideC != a.Rows * n && batch > 1)
            throw new ArgumentException("gemm: a row bias needs the items of C stored back to back");
        Binary(BinaryOp.Add, c, shape, rowBias, new Shape(1, a.Rows, 1), c, shape);
    }

    // ---- convolution and pooling --------------------------------------------------------------

    /// <summary>y [N, K, OutH, OutW] = conv(x [N, C, H, W], w [K, C, R, S]) + bias [K] (bias optional).</summary>
    public abstract void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g);

    /// <summary>
    /// y = ReLU(conv(x, w) + bias): the forward pass with the rectifier applied to each output as it
    /// is stored (eval-mode inference). The default runs <see cref="Conv2dForward"/>, then ReLU in place.
    /// </summary>
    public virtual void Conv2dForwardRelu(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        Conv2dForward(x, w, bias, y, g);
        Unary(UnaryOp.Relu, y, y, g.N * g.K * g.OutH * g.OutW, 0f);
    }

    /// <summary>
    /// Prepares the filters w [K, C, R, S] for repeated forward passes <see cref="Conv2dForwardPacked"/>
    /// of convolutions shaped like <paramref name="g"/> (an inference network's weights). The default
    /// keeps the storage as it is; a backend may transform it once into its kernel's layout. The
    /// result reads the values as they are now (or the storage itself): pack again after they change.
    /// </summary>
    public virtual PackedConv2dWeight PackConv2dWeight(Storage w, in Conv2dGeometry g) => new(this, w, g);

    /// <summary>
    /// <see cref="Conv2dForward"/> (or, with <paramref name="relu"/>, <see cref="Conv2dForwardRelu"/>)
    /// with filters prepared by <see cref="PackConv2dWeight"/>. The default convolves with
    /// <see cref="PackedConv2dWeight.Source"/>.
    /// </summary>
    /// <exception cref="ArgumentException">the weight belongs to another backend or was packed for another filter shape.</exception>
    public virtual void Conv2dForwardPacked(Storage x, PackedConv2dWeight w, Storage? bias, Storage y, in Conv2dGeometry g, bool relu)
    {
        if (!ReferenceEquals(w.Backend, this)) throw new ArgumentException("conv2d: the packed weight belongs to another backend");
        w.Check(g);
        if (relu) Conv2dForwardRelu(x, w.Source, bias, y, g);
        else Conv2dForward(x, w.Source, bias, y, g);
    }

    /// <summary>
    /// y [N, K, ⌊OutH/2⌋, ⌊OutW/2⌋] = 2×2 max pooling (stride 2) of ReLU(conv(x, w) + bias), the conv with filters
    /// prepared by <see cref="PackConv2dWeight"/> (eval-mode inference: no argmax is kept). The default runs
    /// <see cref="Conv2dForwardPacked"/> into a temporary map, then <see cref="MaxPool2dForward"/>; a backend may
    /// pool as it stores each output tile, so the full-size map is never written.
    /// </summary>
    public virtual void Conv2dForwardPackedReluMaxPool(Storage x, PackedConv2dWeight w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        var p = new Pool2dGeometry(g.N, g.K, g.OutH, g.OutW, 2, 2, 2, 2, 0, 0);
        using var map = Allocate(g.N * g.K * g.OutH * g.OutW, DType.Float32);         // [N, K, OutH, OutW]
        using var argmax = Allocate(p.N * p.C * p.OutH * p.OutW, DType.Int32);         // [N, K, OutH/2, OutW/2], unused
        Conv2dForwardPacked(x, w, bias, map, g, relu: true);
        MaxPool2dForward(map, y, argmax, p);
    }

    /// <summary>dx [N, C, H, W] = the adjoint of the forward pass applied to dy [N, K, OutH, OutW].</summary>
    public abstract void Conv2dBackwardInput(Storage dy, Storage w, Storage dx, in Conv2dGeometry g);

    /// <summary>dw [K, C, R, S] = Σ over n, oh, ow of dy · the input patch.</summary>
    public abstract void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g);

    /// <summary>y = max over each window; argmax (Int32, same size as y) holds the flat h·W+w index of the winner.</summary>
    public abstract void MaxPool2dForward(Storage x, Storage y, Storage argmax, in Pool2dGeometry g);

    /// <summary>dx = 0, then dx[argmax] += dy for every output (overlapping windows accumulate).</summary>
    public abstract void MaxPool2dBackward(Storage dy, Storage argmax, Storage dx, in Pool2dGeometry g);

    // ---- normalisation ------------------------------------------------------------------------

    /// <summary>
    /// BatchNorm over x [N, C, HW]. Training: mean/invStd [C] are the batch statistics (biased
    /// variance) and runningMean/runningVar, when given, move by momentum toward the batch mean and
    /// the unbiased variance. Eval: mean = runningMean, invStd = 1/√(runningVar + eps).
    /// y = (x − mean)·invStd·weight + bias (weight/bias optional = 1/0).
    /// With <paramref name="validColumns"/> (one count per item, each in 0..<paramref name="width"/>; HW =
    /// H·width): item i holds data only in the columns w &lt; validColumns[i] of each of its H rows; the
    /// training statistics (and the running-stat update, count = H·Σvalid) use those positions alone,
    /// and y is 0 at the others, in eval mode too. Null: every position is valid.
    /// </summary>
    public abstract void BatchNorm2dForward(Storage x, Storage? weight, Storage? bias, Storage y,
        Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar,
        int n, int c, int hw, float eps, float momentum, bool training, int[]? validColumns = null, int width = 0);

    /// <summary>
    /// Gradients of <see cref="BatchNorm2dForward"/>: dx always; dWeight/dBias when given. In training
    /// mode dx includes the terms through the batch mean and variance. With <paramref name="validColumns"/>
    /// (as in <see cref="BatchNorm2dForward"/>): dy at padded positions is ignored, dx there is 0, and the
    /// sums run over the valid positions only.
    /// </summary>
    public abstract void BatchNorm2dBackward(Storage dy, Storage x, Storage? weight, Storage mean, Storage invStd,
        Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training, int[]? validColumns = null, int width = 0);

    // ---- softmax family -----------------------------------------------------------------------

    /// <summary>Row-wise softmax (or log-softmax) of x [rows, cols].</summary>
    public abstract void Softmax(Storage x, Storage y, int rows, int cols, bool log);

    /// <summary>dx from y and dy: softmax dx = y·(dy − Σ dy·y); log-softmax dx = dy − e^y·Σ dy.</summary>
    public abstract void SoftmaxBackward(Storage y, Storage dy, Storage dx, int rows, int cols, bool log);

    /// <summary>
    /// The fused attention softmax: y = softmax(scale·x + bias) over the last axis of [rows, cols],
    /// with bias [rows, cols] optional and keyMask (Int32 [rows / rowsPerMask, cols], 1 = keep)
    /// optional. Masked keys get exactly 0; a row with every key masked is all zeros.
    /// </summary>
    public abstract void BiasedSoftmax(Storage x, Storage? bias, Storage? keyMask, Storage y, int rows, int cols, int rowsPerMask, float scale);

    /// <summary>
    /// With g = y·(dy − Σ dy·y): dx = scale·g and dBias = g (when requested).
    /// </summary>
    public abstract void BiasedSoftmaxBackward(Storage y, Storage dy, Storage? dx, Storage? dBias, int rows, int cols, float scale);

    /// <summary>
    /// Per-row cross-entropy of logits [n, c] against Int32 labels [n]: loss[i] = −log softmax(logits_i)[label_i];
    /// probs [n, c] keeps the softmax for the backward pass. Throws if a label is outside 0..c−1.
    /// </summary>
    public abstract void CrossEntropyForward(Storage logits, Storage labels, Storage loss, Storage probs, int n, int c);

    /// <summary>dLogits[i, j] = dLoss[i] · (probs[i, j] − [j = label_i]).</summary>
    public abstract void CrossEntropyBackward(Storage probs, Storage labels, Storage dLoss, Storage dLogits, int n, int c);

    // ---- audio front end ----------------------------------------------------------------------

    /// <summary>
    /// Power spectrogram of one real signal (torch.stft, onesided, not normalised, then |X|^power):
    /// y [nFreq, frames] with
    /// <c>y[k, t] = |Σ_{n &lt; nFft} signal[t·hop + n]·window[n]·e^{−2πi·k·n/nFft}|^power</c>.
    /// <paramref name="signal"/> is already padded (centring is the caller's) and holds at least
    /// (frames − 1)·hop + nFft samples; <paramref name="window"/> [nFft] is the full-length window
    /// (a shorter window zero-padded and centred inside nFft, as torch does). nFreq ≤ nFft/2 + 1
    /// (fewer keeps only the lowest bins). power 2 gives re² + im², power 1 √(re² + im²), any other
    /// positive power (√(re² + im²))^power. Throws on nFft &lt; 1, hop &lt; 1, nFreq &gt; nFft/2 + 1,
    /// power ≤ 0 or a signal too short for the frames.
    /// </summary>
    public abstract void SpectrogramForward(Storage signal, Storage window, Storage y, int nFft, int hop, int frames, int nFreq, float power);

    /// <summary>
    /// torchaudio.functional.amplitude_to_DB(x, multiplier, amin, db_multiplier, top_db) for one
    /// matrix of n elements: <c>y = multiplier·log10(max(x, amin)) − multiplier·dbMultiplier</c>
    /// (torchaudio's db_multiplier is log10(max(amin, ref)): 0 for ref = 1); then, when
    /// <paramref name="topDb"/> ≥ 0, <c>y = max(y, max over all n of y − topDb)</c>. A negative or
    /// NaN topDb means no floor (torchaudio's top_db = None). Multiplier 10 for power, 20 for
    /// magnitude. y may alias x. Throws unless amin &gt; 0.
    /// </summary>
    public abstract void AmplitudeToDb(Storage x, Storage y, int n, float multiplier, float amin, float dbMultiplier, float topDb);

    // ---- optimizers ---------------------------------------------------------------------------

    /// <summary>One Adam or AdamW update of n parameters in place (m, v: moment buffers).</summary>
    public abstract void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p);

    /// <summary>One SGD update of n parameters in place (momentum buffer used when momentum ≠ 0).</summary>
    public abstract void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, int n, in SgdStepParams p);
}
