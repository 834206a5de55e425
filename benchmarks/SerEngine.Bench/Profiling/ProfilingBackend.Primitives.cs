using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Bench;

// The compute primitives of ProfilingBackend: each forwards to Inner with the inner buffers and
// records one call under a row named by the primitive and its operand shapes.
public sealed partial class ProfilingBackend
{
    // ---- elementwise --------------------------------------------------------------------------

    /// <inheritdoc/>
    public override void Binary(BinaryOp op, Storage a, Shape aShape, Storage b, Shape bShape, Storage y, Shape yShape)
    {
        long t0 = Start();
        Inner.Binary(op, U(a), aShape, U(b), bShape, U(y), yShape);
        Record(Stop(t0), $"Binary {op} {S(aShape)} {S(bShape)}");
    }

    /// <inheritdoc/>
    public override void Unary(UnaryOp op, Storage x, Storage y, int n, float alpha)
    {
        long t0 = Start();
        Inner.Unary(op, U(x), U(y), n, alpha);
        Record(Stop(t0), $"Unary {op} {n}");
    }

    /// <inheritdoc/>
    public override void UnaryBackward(UnaryOp op, Storage x, Storage y, Storage dy, Storage dx, int n, float alpha)
    {
        long t0 = Start();
        Inner.UnaryBackward(op, U(x), U(y), U(dy), U(dx), n, alpha);
        Record(Stop(t0), $"UnaryBackward {op} {n}");
    }

    /// <inheritdoc/>
    public override void SumTo(Storage x, Shape xShape, Storage y, Shape yShape)
    {
        long t0 = Start();
        Inner.SumTo(U(x), xShape, U(y), yShape);
        Record(Stop(t0), $"SumTo {S(xShape)} -> {S(yShape)}");
    }

    /// <inheritdoc/>
    public override void BroadcastTo(Storage x, Shape xShape, Storage y, Shape yShape)
    {
        long t0 = Start();
        Inner.BroadcastTo(U(x), xShape, U(y), yShape);
        Record(Stop(t0), $"BroadcastTo {S(xShape)} -> {S(yShape)}");
    }

    /// <inheritdoc/>
    public override void Permute(Storage x, Shape xShape, int[] perm, Storage y)
    {
        long t0 = Start();
        Inner.Permute(U(x), xShape, perm, U(y));
        Record(Stop(t0), $"Permute {S(xShape)} [{string.Join(",", perm)}]");
    }

    /// <inheritdoc/>
    public override void DropoutMask(Storage mask, int n, float p, ulong seed)
    {
        long t0 = Start();
        Inner.DropoutMask(U(mask), n, p, seed);
        Record(Stop(t0), $"DropoutMask {n}");
    }

    // ---- linear algebra -----------------------------------------------------------------------

    /// <inheritdoc/>
    public override void Gemm(bool transA, bool transB, int batch, int m, int n, int k, float alpha, Storage a, int strideA, Storage b, int strideB, float beta, Storage c, int strideC)
    {
        long t0 = Start();
        Inner.Gemm(transA, transB, batch, m, n, k, alpha, U(a), strideA, U(b), strideB, beta, U(c), strideC);
        Record(Stop(t0), $"Gemm {(transA ? "T" : "N")}{(transB ? "T" : "N")} {batch}x[{m}x{n}x{k}]");
    }

    /// <inheritdoc/>
    public override void LinearForward(Storage x, Storage w, Storage? bias, Storage y, int m, int outF, int inF)
    {
        long t0 = Start();
        Inner.LinearForward(U(x), U(w), bias is null ? null : U(bias), U(y), m, outF, inF);
        Record(Stop(t0), $"LinearForward [{m}x{outF}x{inF}]{(bias is null ? "" : " +bias")}");
    }

    /// <inheritdoc/>
    public override void LinearForwardMany(Storage x, IReadOnlyList<Storage> weights, IReadOnlyList<Storage?> biases, IReadOnlyList<Storage> ys, int m, int outF, int inF)
    {
        long t0 = Start();
        Inner.LinearForwardMany(U(x), [.. weights.Select(U)], [.. biases.Select(b => b is null ? null : U(b))], [.. ys.Select(U)], m, outF, inF);
        Record(Stop(t0), $"LinearForwardMany {weights.Count}x[{m}x{outF}x{inF}]{(biases.Any(b => b is not null) ? " +bias" : "")}");
    }

    /// <inheritdoc/>
    public override bool LinearBackwardInputAdd(Storage dy, Storage w, Storage dx, int m, int outF, int inF)
    {
        long t0 = Start();
        bool done = Inner.LinearBackwardInputAdd(U(dy), U(w), U(dx), m, outF, inF);
        if (done) Record(Stop(t0), $"LinearBackwardInputAdd [{m}x{inF}x{outF}]");
        return done;
    }

    /// <inheritdoc/>
    public override PackedGemmA PackGemmA(Storage a, bool transA, int m, int k)
    {
        long t0 = Start();
        var packed = Inner.PackGemmA(U(a), transA, m, k);
        Record(Stop(t0), $"PackGemmA {(transA ? "T" : "N")} [{m}x{k}]");
        return new ProfiledPackedGemmA(this, a, packed);
    }

    /// <inheritdoc/>
    public override void GemmPackedA(PackedGemmA a, bool transB, int batch, int n, float alpha, Storage b, int strideB, float beta, Storage c, int strideC, Storage? rowBias = null)
    {
        if (a is not ProfiledPackedGemmA p || !ReferenceEquals(a.Backend, this)) throw new ArgumentException("gemm: the packed operand belongs to another backend");
        long t0 = Start();
        Inner.GemmPackedA(p.Inner, transB, batch, n, alpha, U(b), strideB, beta, U(c), strideC, UOrNull(rowBias));
        Record(Stop(t0), $"GemmPackedA {(a.Trans ? "T" : "N")}{(transB ? "T" : "N")} {batch}x[{a.Rows}x{n}x{a.Depth}]");
    }

    /// <inheritdoc/>
    public override void GemmPackedATanh(PackedGemmA a, int batch, int n, Storage b, int strideB, Storage c, Storage? rowBias)
    {
        if (a is not ProfiledPackedGemmA p || !ReferenceEquals(a.Backend, this)) throw new ArgumentException("gemm: the packed operand belongs to another backend");
        long t0 = Start();
        Inner.GemmPackedATanh(p.Inner, batch, n, U(b), strideB, U(c), UOrNull(rowBias));
        Record(Stop(t0), $"GemmPackedATanh {batch}x[{a.Rows}x{n}x{a.Depth}]");
    }

    /// <inheritdoc/>
    public override void GemmPackedARowMeans(PackedGemmA a, int batch, int n, Storage b, int strideB, Storage c, Storage? rowBias,
        Storage means, int meanRows)
    {
        if (a is not ProfiledPackedGemmA p || !ReferenceEquals(a.Backend, this)) throw new ArgumentException("gemm: the packed operand belongs to another backend");
        long t0 = Start();
        Inner.GemmPackedARowMeans(p.Inner, batch, n, U(b), strideB, U(c), UOrNull(rowBias), U(means), meanRows);
        Record(Stop(t0), $"GemmPackedARowMeans {batch}x[{a.Rows}x{n}x{a.Depth}] means of {meanRows}");
    }

    /// <inheritdoc/>
    public override void GemmPackedAResidualReluMean(PackedGemmA a, int batch, int n, Storage b, int strideB, Storage c, Storage? rowBias,
        Storage residual, Storage means)
    {
        if (a is not ProfiledPackedGemmA p || !ReferenceEquals(a.Backend, this)) throw new ArgumentException("gemm: the packed operand belongs to another backend");
        long t0 = Start();
        Inner.GemmPackedAResidualReluMean(p.Inner, batch, n, U(b), strideB, U(c), UOrNull(rowBias), U(residual), U(means));
        Record(Stop(t0), $"GemmPackedAResidualReluMean {batch}x[{a.Rows}x{n}x{a.Depth}]");
    }

    // ---- convolution and pooling --------------------------------------------------------------

    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        long t0 = Start();
        Inner.Conv2dForward(U(x), U(w), UOrNull(bias), U(y), g);
        Record(Stop(t0), $"Conv2dForward {G(g)}{P(Conv2dPass.Forward, g)}");
    }

    /// <inheritdoc/>
    public override void Conv2dForwardRelu(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        long t0 = Start();
        Inner.Conv2dForwardRelu(U(x), U(w), UOrNull(bias), U(y), g);
        Record(Stop(t0), $"Conv2dForwardRelu {G(g)}{P(Conv2dPass.Forward, g)}");
    }

    /// <inheritdoc/>
    public override PackedConv2dWeight PackConv2dWeight(Storage w, in Conv2dGeometry g)
    {
        long t0 = Start();
        var packed = Inner.PackConv2dWeight(U(w), g);
        Record(Stop(t0), $"PackConv2dWeight w[{g.K},{g.C},{g.R},{g.S}]{P(Conv2dPass.ForwardPacked, g)}");
        return new ProfiledPackedConv2dWeight(this, w, packed);
    }

    /// <inheritdoc/>
    public override void Conv2dForwardPacked(Storage x, PackedConv2dWeight w, Storage? bias, Storage y, in Conv2dGeometry g, bool relu)
    {
        if (w is not ProfiledPackedConv2dWeight p || !ReferenceEquals(w.Backend, this)) throw new ArgumentException("conv2d: the packed weight belongs to another backend");
        long t0 = Start();
        Inner.Conv2dForwardPacked(U(x), p.Inner, UOrNull(bias), U(y), g, relu);
        Record(Stop(t0), $"Conv2dForwardPacked{(relu ? "Relu" : "")} {G(g)}{P(Conv2dPass.ForwardPacked, g)}");
    }

    /// <inheritdoc/>
    public override void Conv2dForwardPackedReluMaxPool(Storage x, PackedConv2dWeight w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        if (w is not ProfiledPackedConv2dWeight p || !ReferenceEquals(w.Backend, this)) throw new ArgumentException("conv2d: the packed weight belongs to another backend");
        long t0 = Start();
        Inner.Conv2dForwardPackedReluMaxPool(U(x), p.Inner, UOrNull(bias), U(y), g);
        Record(Stop(t0), $"Conv2dForwardPackedReluMaxPool {G(g)}{P(Conv2dPass.ForwardPacked, g)}");
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardInput(Storage dy, Storage w, Storage dx, in Conv2dGeometry g)
    {
        long t0 = Start();
        Inner.Conv2dBackwardInput(U(dy), U(w), U(dx), g);
        Record(Stop(t0), $"Conv2dBackwardInput {G(g)}{P(Conv2dPass.BackwardInput, g)}");
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g)
    {
        long t0 = Start();
        Inner.Conv2dBackwardWeight(U(x), U(dy), U(dw), g);
        Record(Stop(t0), $"Conv2dBackwardWeight {G(g)}{P(Conv2dPass.BackwardWeight, g)}");
    }

    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, Storage y, Storage argmax, in Pool2dGeometry g)
    {
        long t0 = Start();
        Inner.MaxPool2dForward(U(x), U(y), U(argmax), g);
        Record(Stop(t0), $"MaxPool2dForward [{g.N},{g.C},{g.H},{g.W}]");
    }

    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage argmax, Storage dx, in Pool2dGeometry g)
    {
        long t0 = Start();
        Inner.MaxPool2dBackward(U(dy), U(argmax), U(dx), g);
        Record(Stop(t0), $"MaxPool2dBackward [{g.N},{g.C},{g.H},{g.W}]");
    }

    // ---- normalisation ------------------------------------------------------------------------

    /// <inheritdoc/>
    public override void BatchNorm2dForward(Storage x, Storage? weight, Storage? bias, Storage y, Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar, int n, int c, int hw, float eps, float momentum, bool training, int[]? validColumns = null, int width = 0)
    {
        long t0 = Start();
        Inner.BatchNorm2dForward(U(x), UOrNull(weight), UOrNull(bias), U(y), U(mean), U(invStd), UOrNull(runningMean), UOrNull(runningVar), n, c, hw, eps, momentum, training, validColumns, width);
        Record(Stop(t0), $"BatchNorm2dForward [{n},{c},{hw}]{(validColumns is null ? "" : " masked")}");
    }

    /// <inheritdoc/>
    public override void BatchNorm2dBackward(Storage dy, Storage x, Storage? weight, Storage mean, Storage invStd, Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training, int[]? validColumns = null, int width = 0)
    {
        long t0 = Start();
        Inner.BatchNorm2dBackward(U(dy), U(x), UOrNull(weight), U(mean), U(invStd), U(dx), UOrNull(dWeight), UOrNull(dBias), n, c, hw, training, validColumns, width);
        Record(Stop(t0), $"BatchNorm2dBackward [{n},{c},{hw}]{(validColumns is null ? "" : " masked")}");
    }

    /// <inheritdoc/>
    public override void BatchNorm2dReluForward(Storage x, Storage? weight, Storage? bias, Storage y, int yChannels, int yOffset, Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar, int n, int c, int hw, float eps, float momentum, bool training, int[]? validColumns = null, int width = 0)
    {
        long t0 = Start();
        Inner.BatchNorm2dReluForward(U(x), UOrNull(weight), UOrNull(bias), U(y), yChannels, yOffset, U(mean), U(invStd), UOrNull(runningMean), UOrNull(runningVar), n, c, hw, eps, momentum, training, validColumns, width);
        Record(Stop(t0), $"BatchNorm2dReluForward [{n},{c},{hw}]{(yChannels == c ? "" : $" into {yChannels} channels")}{(validColumns is null ? "" : " masked")}");
    }

    /// <inheritdoc/>
    public override void BatchNorm2dReluBackward(Storage dy, Storage y, int yChannels, int yOffset, Storage x, Storage? weight, Storage mean, Storage invStd, Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training, Storage? dxChannelSum = null, int[]? validColumns = null, int width = 0)
    {
        long t0 = Start();
        Inner.BatchNorm2dReluBackward(U(dy), U(y), yChannels, yOffset, U(x), UOrNull(weight), U(mean), U(invStd), U(dx), UOrNull(dWeight), UOrNull(dBias), n, c, hw, training, UOrNull(dxChannelSum), validColumns, width);
        Record(Stop(t0), $"BatchNorm2dReluBackward [{n},{c},{hw}]{(yChannels == c ? "" : $" from {yChannels} channels")}{(validColumns is null ? "" : " masked")}");
    }

    /// <inheritdoc/>
    public override void BatchNorm2dReluMaxPoolForward(Storage x, Storage? weight, Storage? bias, Storage yPool, Storage argmax, Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar, in Pool2dGeometry g, float eps, float momentum, bool training)
    {
        long t0 = Start();
        Inner.BatchNorm2dReluMaxPoolForward(U(x), UOrNull(weight), UOrNull(bias), U(yPool), U(argmax), U(mean), U(invStd), UOrNull(runningMean), UOrNull(runningVar), g, eps, momentum, training);
        Record(Stop(t0), $"BatchNorm2dReluMaxPoolForward [{g.N},{g.C},{g.H},{g.W}] k{g.KernelH}x{g.KernelW}");
    }

    /// <inheritdoc/>
    public override void BatchNorm2dReluMaxPoolBackward(Storage dyPool, Storage yPool, Storage argmax, Storage x, Storage? weight, Storage mean, Storage invStd, Storage dx, Storage? dWeight, Storage? dBias, in Pool2dGeometry g, bool training, Storage? dxChannelSum = null)
    {
        long t0 = Start();
        Inner.BatchNorm2dReluMaxPoolBackward(U(dyPool), U(yPool), U(argmax), U(x), UOrNull(weight), U(mean), U(invStd), U(dx), UOrNull(dWeight), UOrNull(dBias), g, training, UOrNull(dxChannelSum));
        Record(Stop(t0), $"BatchNorm2dReluMaxPoolBackward [{g.N},{g.C},{g.H},{g.W}] k{g.KernelH}x{g.KernelW}");
    }

    // ---- softmax family -----------------------------------------------------------------------

    /// <inheritdoc/>
    public override void Softmax(Storage x, Storage y, int rows, int cols, bool log)
    {
        long t0 = Start();
        Inner.Softmax(U(x), U(y), rows, cols, log);
        Record(Stop(t0), $"Softmax {rows}x{cols}");
    }

    /// <inheritdoc/>
    public override void SoftmaxBackward(Storage y, Storage dy, Storage dx, int rows, int cols, bool log)
    {
        long t0 = Start();
        Inner.SoftmaxBackward(U(y), U(dy), U(dx), rows, cols, log);
        Record(Stop(t0), $"SoftmaxBackward {rows}x{cols}");
    }

    /// <inheritdoc/>
    public override void BiasedSoftmax(Storage x, Storage? bias, Storage? keyMask, Storage y, int rows, int cols, int rowsPerMask, float scale)
    {
        long t0 = Start();
        Inner.BiasedSoftmax(U(x), UOrNull(bias), UOrNull(keyMask), U(y), rows, cols, rowsPerMask, scale);
        Record(Stop(t0), $"BiasedSoftmax {rows}x{cols}");
    }

    /// <inheritdoc/>
    public override void BiasedSoftmaxBackward(Storage y, Storage dy, Storage? dx, Storage? dBias, int rows, int cols, float scale)
    {
        long t0 = Start();
        Inner.BiasedSoftmaxBackward(U(y), U(dy), UOrNull(dx), UOrNull(dBias), rows, cols, scale);
        Record(Stop(t0), $"BiasedSoftmaxBackward {rows}x{cols}");
    }

    // Attention: when the inner backend would compose it (AttentionImplementation = composed), the
    // composition runs here, on this profiler, so each of its primitives is a row of its own (the
    // launch count of the composed path); a fused implementation is one row naming it.

    /// <inheritdoc/>
    public override string AttentionImplementation(int t, int d) => Inner.AttentionImplementation(t, d);

    /// <inheritdoc/>
    public override void AttentionForward(Storage q, Storage k, Storage v, Storage? bias, Storage? keyMask, Storage? dropMask,
        Storage probs, Storage o, int batchHeads, int t, int d, int itemsPerMask, float scale)
    {
        string impl = Inner.AttentionImplementation(t, d);
        if (impl == "composed")
        {
            base.AttentionForward(q, k, v, bias, keyMask, dropMask, probs, o, batchHeads, t, d, itemsPerMask, scale);
            return;
        }
        long t0 = Start();
        Inner.AttentionForward(U(q), U(k), U(v), UOrNull(bias), UOrNull(keyMask), UOrNull(dropMask), U(probs), U(o), batchHeads, t, d, itemsPerMask, scale);
        Record(Stop(t0), $"AttentionForward {batchHeads}x[{t}x{t}x{d}] {impl}");
    }

    /// <inheritdoc/>
    public override string AttentionTransposedImplementation(int t, int d) => Inner.AttentionTransposedImplementation(t, d);

    /// <inheritdoc/>
    public override void AttentionForwardTransposed(Storage qkvT, Storage? centres, Storage? widths, Storage probs, Storage oT, Storage? means,
        int batch, int heads, int t, int d, float scale)
    {
        string impl = Inner.AttentionTransposedImplementation(t, d);
        if (impl == "composed")
        {
            base.AttentionForwardTransposed(qkvT, centres, widths, probs, oT, means, batch, heads, t, d, scale);
            return;
        }
        long t0 = Start();
        Inner.AttentionForwardTransposed(U(qkvT), UOrNull(centres), UOrNull(widths), U(probs), U(oT), UOrNull(means), batch, heads, t, d, scale);
        Record(Stop(t0), $"AttentionForwardTransposed {batch * heads}x[{t}x{t}x{d}] {impl}");
    }

    /// <inheritdoc/>
    public override void AttentionForwardTransposedFocus(Storage qkvT, Storage focusT, Storage u, Storage centres, Storage widths, Storage probs,
        Storage oT, Storage? means, int batch, int heads, int t, int d, float scale)
    {
        string impl = Inner.AttentionTransposedImplementation(t, d);
        if (impl == "composed")
        {
            base.AttentionForwardTransposedFocus(qkvT, focusT, u, centres, widths, probs, oT, means, batch, heads, t, d, scale);
            return;
        }
        long t0 = Start();
        Inner.AttentionForwardTransposedFocus(U(qkvT), U(focusT), U(u), U(centres), U(widths), U(probs), U(oT), UOrNull(means), batch, heads, t, d, scale);
        Record(Stop(t0), $"AttentionForwardTransposedFocus {batch * heads}x[{t}x{t}x{d}] {impl}");
    }

    /// <inheritdoc/>
    public override void AttentionBackward(Storage q, Storage k, Storage v, Storage probs, Storage? dropMask,
        Storage? dOut, Storage? dProbs, Storage? dQ, Storage? dK, Storage? dV, Storage? dBias, int batchHeads, int t, int d, float scale)
    {
        string impl = Inner.AttentionImplementation(t, d);
        if (impl == "composed")
        {
            base.AttentionBackward(q, k, v, probs, dropMask, dOut, dProbs, dQ, dK, dV, dBias, batchHeads, t, d, scale);
            return;
        }
        long t0 = Start();
        Inner.AttentionBackward(U(q), U(k), U(v), U(probs), UOrNull(dropMask), UOrNull(dOut), UOrNull(dProbs),
            UOrNull(dQ), UOrNull(dK), UOrNull(dV), UOrNull(dBias), batchHeads, t, d, scale);
        Record(Stop(t0), $"AttentionBackward {batchHeads}x[{t}x{t}x{d}] {impl}");
    }

    /// <inheritdoc/>
    public override void AttentionForwardTokens(Storage q, Storage k, Storage v, Storage? bias, Storage? keyMask, Storage? dropMask,
        Storage probs, Storage o, int batch, int heads, int t, int d, float scale)
    {
        string impl = Inner.AttentionImplementation(t, d);
        if (impl == "composed")
        {
            base.AttentionForwardTokens(q, k, v, bias, keyMask, dropMask, probs, o, batch, heads, t, d, scale);
            return;
        }
        long t0 = Start();
        Inner.AttentionForwardTokens(U(q), U(k), U(v), UOrNull(bias), UOrNull(keyMask), UOrNull(dropMask), U(probs), U(o), batch, heads, t, d, scale);
        Record(Stop(t0), $"AttentionForwardTokens {batch * heads}x[{t}x{t}x{d}] {impl}");
    }

    /// <inheritdoc/>
    public override void AttentionBackwardTokens(Storage q, Storage k, Storage v, Storage probs, Storage? dropMask,
        Storage? dOut, Storage? dProbs, Storage? dQ, Storage? dK, Storage? dV, Storage? dBias, int batch, int heads, int t, int d, float scale)
    {
        string impl = Inner.AttentionImplementation(t, d);
        if (impl == "composed")
        {
            base.AttentionBackwardTokens(q, k, v, probs, dropMask, dOut, dProbs, dQ, dK, dV, dBias, batch, heads, t, d, scale);
            return;
        }
        long t0 = Start();
        Inner.AttentionBackwardTokens(U(q), U(k), U(v), U(probs), UOrNull(dropMask), UOrNull(dOut), UOrNull(dProbs),
            UOrNull(dQ), UOrNull(dK), UOrNull(dV), UOrNull(dBias), batch, heads, t, d, scale);
        Record(Stop(t0), $"AttentionBackwardTokens {batch * heads}x[{t}x{t}x{d}] {impl}");
    }

    // Mel features: as attention, the composed path runs here (a row per primitive); fused is one row naming it.

    /// <inheritdoc/>
    public override string MelFeaturesImplementation(int nFft, MelFeaturePlan plan) => Inner.MelFeaturesImplementation(nFft, plan);

    /// <inheritdoc/>
    public override void MelFeatures(Storage signal, Storage window, Storage y, int nFft, int hop, int frames, float power, MelFeaturePlan plan)
    {
        string impl = Inner.MelFeaturesImplementation(nFft, plan);
        if (impl == "composed")
        {
            base.MelFeatures(signal, window, y, nFft, hop, frames, power, plan);
            return;
        }
        long t0 = Start();
        Inner.MelFeatures(U(signal), U(window), U(y), nFft, hop, frames, power, plan);
        Record(Stop(t0), $"MelFeatures nFft {nFft} hop {hop} [{plan.NFreq}->{plan.NMels}->{plan.OutputRows}x{frames}] {plan.Scale} {impl}");
    }

    /// <inheritdoc/>
    public override void CrossEntropyForward(Storage logits, Storage labels, Storage loss, Storage probs, int n, int c)
    {
        long t0 = Start();
        Inner.CrossEntropyForward(U(logits), U(labels), U(loss), U(probs), n, c);
        Record(Stop(t0), "CrossEntropyForward");
    }

    /// <inheritdoc/>
    public override void CrossEntropyBackward(Storage probs, Storage labels, Storage dLoss, Storage dLogits, int n, int c)
    {
        long t0 = Start();
        Inner.CrossEntropyBackward(U(probs), U(labels), U(dLoss), U(dLogits), n, c);
        Record(Stop(t0), "CrossEntropyBackward");
    }

    // ---- audio front end ----------------------------------------------------------------------

    /// <inheritdoc/>
    public override void SpectrogramForward(Storage signal, Storage window, Storage y, int nFft, int hop, int frames, int nFreq, float power)
    {
        long t0 = Start();
        Inner.SpectrogramForward(U(signal), U(window), U(y), nFft, hop, frames, nFreq, power);
        Record(Stop(t0), $"SpectrogramForward nFft {nFft} hop {hop} [{nFreq}x{frames}]");
    }

    /// <inheritdoc/>
    public override void AmplitudeToDb(Storage x, Storage y, int n, float multiplier, float amin, float dbMultiplier, float topDb)
    {
        long t0 = Start();
        Inner.AmplitudeToDb(U(x), U(y), n, multiplier, amin, dbMultiplier, topDb);
        Record(Stop(t0), $"AmplitudeToDb {n}");
    }

    /// <inheritdoc/>
    public override void FocusBiasForward(Storage centres, Storage widths, Storage bias, int rows, int t)
    {
        long t0 = Start();
        Inner.FocusBiasForward(U(centres), U(widths), U(bias), rows, t);
        Record(Stop(t0), $"FocusBiasForward [{rows}x{t}]");
    }

    /// <inheritdoc/>
    public override void FocusBiasBackward(Storage centres, Storage widths, Storage dBias, Storage? dCentres, Storage? dWidths, int rows, int t)
    {
        long t0 = Start();
        Inner.FocusBiasBackward(U(centres), U(widths), U(dBias), UOrNull(dCentres), UOrNull(dWidths), rows, t);
        Record(Stop(t0), $"FocusBiasBackward [{rows}x{t}]");
    }

    /// <inheritdoc/>
    public override void HeadDotForward(Storage x, Storage u, Storage y, int n, int t, int h, int d)
    {
        long t0 = Start();
        Inner.HeadDotForward(U(x), U(u), U(y), n, t, h, d);
        Record(Stop(t0), $"HeadDotForward [{n},{t},{h},{d}]");
    }

    /// <inheritdoc/>
    public override void HeadDotBackward(Storage x, Storage u, Storage dy, Storage? dx, Storage? du, int n, int t, int h, int d)
    {
        long t0 = Start();
        Inner.HeadDotBackward(U(x), U(u), U(dy), UOrNull(dx), UOrNull(du), n, t, h, d);
        Record(Stop(t0), $"HeadDotBackward [{n},{t},{h},{d}]");
    }

    /// <inheritdoc/>
    public override void GatedMergeHeadsForward(Storage o, Storage g, Storage y, int n, int h, int t, int d)
    {
        long t0 = Start();
        Inner.GatedMergeHeadsForward(U(o), U(g), U(y), n, h, t, d);
        Record(Stop(t0), $"GatedMergeHeadsForward [{n},{h},{t},{d}]");
    }

    /// <inheritdoc/>
    public override void GatedMergeHeadsBackward(Storage o, Storage g, Storage dy, Storage? dO, Storage? dg, int n, int h, int t, int d)
    {
        long t0 = Start();
        Inner.GatedMergeHeadsBackward(U(o), U(g), U(dy), UOrNull(dO), UOrNull(dg), n, h, t, d);
        Record(Stop(t0), $"GatedMergeHeadsBackward [{n},{h},{t},{d}]");
    }

    // ---- optimizers ---------------------------------------------------------------------------

    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p)
    {
        long t0 = Start();
        Inner.AdamStep(U(param), U(grad), U(m), U(v), n, p);
        Record(Stop(t0), "AdamStep");
    }

    /// <inheritdoc/>
    public override void AdamStepMulti(ReadOnlySpan<AdamTensors> tensors, in AdamStepParams p)
    {
        var inner = new AdamTensors[tensors.Length];
        for (int i = 0; i < tensors.Length; i++)
        {
            var t = tensors[i];
            inner[i] = new AdamTensors(U(t.Param), U(t.Grad), U(t.ExpAvg), U(t.ExpAvgSq), t.Count);
        }
        long t0 = Start();
        Inner.AdamStepMulti(inner, p);
        Record(Stop(t0), $"AdamStepMulti {tensors.Length} tensors");
    }

    /// <inheritdoc/>
    public override void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, int n, in SgdStepParams p)
    {
        long t0 = Start();
        Inner.SgdStep(U(param), U(grad), UOrNull(momentumBuffer), n, p);
        Record(Stop(t0), "SgdStep");
    }
}
