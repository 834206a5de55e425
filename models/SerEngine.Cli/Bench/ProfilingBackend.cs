using System.Diagnostics;
using System.Globalization;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Cli.Bench;

/// <summary>
/// The fast <c>cpu</c> backend with a stopwatch around every primitive (<c>ser bench --profile</c>):
/// time and calls per primitive and operand shape, so a slow case shows where its time goes (conv2d
/// rows also name the path that ran, <c>path=NAME</c>).
/// Single-threaded callers only (the engine calls primitives from one thread).
/// </summary>
public sealed class ProfilingBackend(int threads) : CpuBackend(threads)
{
    private readonly Dictionary<string, (long Ticks, int Calls)> _totals = [];

    /// <inheritdoc/>
    public override string Name => "cpu";

    /// <summary>Forgets what was recorded so far.</summary>
    public void Reset() => _totals.Clear();

    /// <summary>
    /// Writes the recorded primitives, slowest first, as a table of total milliseconds per step and
    /// calls per step (<paramref name="steps"/> = how many steps were recorded), down to 0.5 % of the total.
    /// </summary>
    public void Report(TextWriter w, int steps)
    {
        double total = _totals.Values.Sum(v => v.Ticks) * 1e3 / Stopwatch.Frequency / steps;
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  primitives: {total:0.000} ms per step"));
        foreach (var (key, (ticks, calls)) in _totals.OrderByDescending(kv => kv.Value.Ticks))
        {
            double ms = ticks * 1e3 / Stopwatch.Frequency / steps;
            if (ms < 0.005 * total) break;
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {ms,10:0.000} ms {100 * ms / total,5:0.0}% {calls / (double)steps,6:0.#}x  {key}"));
        }
    }

    private void Time(string key, Action run)
    {
        long t0 = Stopwatch.GetTimestamp();
        run();
        long dt = Stopwatch.GetTimestamp() - t0;
        _totals[key] = _totals.TryGetValue(key, out var v) ? (v.Ticks + dt, v.Calls + 1) : (dt, 1);
    }

    private static string S(Shape s) => s.ToString();

    /// <inheritdoc/>
    protected override Storage AllocateCore(int length, DType dtype)
    {
        Storage? s = null;
        Time("Allocate", () => s = base.AllocateCore(length, dtype));
        return s!;
    }

    /// <inheritdoc/>
    public override void Fill(Storage y, int n, float value) => Time("Fill", () => base.Fill(y, n, value));

    /// <inheritdoc/>
    public override void CopyBlocks(Storage src, int srcOffset, int srcStride, Storage dst, int dstOffset, int dstStride, int blockLength, int count) =>
        Time($"CopyBlocks {count}x{blockLength}", () => base.CopyBlocks(src, srcOffset, srcStride, dst, dstOffset, dstStride, blockLength, count));

    /// <inheritdoc/>
    public override void Binary(BinaryOp op, Storage a, Shape aShape, Storage b, Shape bShape, Storage y, Shape yShape) =>
        Time($"Binary {op} {S(aShape)} {S(bShape)}", () => base.Binary(op, a, aShape, b, bShape, y, yShape));

    /// <inheritdoc/>
    public override void Unary(UnaryOp op, Storage x, Storage y, int n, float alpha) =>
        Time($"Unary {op} {n}", () => base.Unary(op, x, y, n, alpha));

    /// <inheritdoc/>
    public override void UnaryBackward(UnaryOp op, Storage x, Storage y, Storage dy, Storage dx, int n, float alpha) =>
        Time($"UnaryBackward {op} {n}", () => base.UnaryBackward(op, x, y, dy, dx, n, alpha));

    /// <inheritdoc/>
    public override void SumTo(Storage x, Shape xShape, Storage y, Shape yShape) =>
        Time($"SumTo {S(xShape)} -> {S(yShape)}", () => base.SumTo(x, xShape, y, yShape));

    /// <inheritdoc/>
    public override void BroadcastTo(Storage x, Shape xShape, Storage y, Shape yShape) =>
        Time($"BroadcastTo {S(xShape)} -> {S(yShape)}", () => base.BroadcastTo(x, xShape, y, yShape));

    /// <inheritdoc/>
    public override void Permute(Storage x, Shape xShape, int[] perm, Storage y) =>
        Time($"Permute {S(xShape)} [{string.Join(",", perm)}]", () => base.Permute(x, xShape, perm, y));

    /// <inheritdoc/>
    public override void DropoutMask(Storage mask, int n, float p, ulong seed) => Time($"DropoutMask {n}", () => base.DropoutMask(mask, n, p, seed));

    /// <inheritdoc/>
    public override void Gemm(bool transA, bool transB, int batch, int m, int n, int k, float alpha, Storage a, int strideA, Storage b, int strideB, float beta, Storage c, int strideC) =>
        Time($"Gemm {(transA ? "T" : "N")}{(transB ? "T" : "N")} {batch}x[{m}x{n}x{k}]", () => base.Gemm(transA, transB, batch, m, n, k, alpha, a, strideA, b, strideB, beta, c, strideC));

    /// <inheritdoc/>
    public override PackedGemmA PackGemmA(Storage a, bool transA, int m, int k)
    {
        PackedGemmA? packed = null;
        Time($"PackGemmA {(transA ? "T" : "N")} [{m}x{k}]", () => packed = base.PackGemmA(a, transA, m, k));
        return packed!;
    }

    /// <inheritdoc/>
    public override void GemmPackedA(PackedGemmA a, bool transB, int batch, int n, float alpha, Storage b, int strideB, float beta, Storage c, int strideC, Storage? rowBias = null) =>
        Time($"GemmPackedA {(a.Trans ? "T" : "N")}{(transB ? "T" : "N")} {batch}x[{a.Rows}x{n}x{a.Depth}]", () => base.GemmPackedA(a, transB, batch, n, alpha, b, strideB, beta, c, strideC, rowBias));

    /// <inheritdoc/>
    public override PackedConv2dWeight PackConv2dWeight(Storage w, in Conv2dGeometry g)
    {
        PackedConv2dWeight? packed = null;
        var geo = g;
        Time($"PackConv2dWeight w[{g.K},{g.C},{g.R},{g.S}] {P(Conv2dPass.ForwardPacked, g)}", () => packed = base.PackConv2dWeight(w, geo));
        return packed!;
    }

    /// <inheritdoc/>
    public override void Conv2dForwardPacked(Storage x, PackedConv2dWeight w, Storage? bias, Storage y, in Conv2dGeometry g, bool relu)
    {
        var geo = g;
        Time($"Conv2dForwardPacked{(relu ? "Relu" : "")} {G(g)} {P(Conv2dPass.ForwardPacked, g)}", () => base.Conv2dForwardPacked(x, w, bias, y, geo, relu));
    }

    private static string G(in Conv2dGeometry g) => $"x[{g.N},{g.C},{g.H},{g.W}] w[{g.K},{g.C},{g.R},{g.S}] s{g.StrideH}";

    /// <summary>The conv2d path the pass runs, as <c>path=NAME</c> (<see cref="CpuBackend.ChooseConv2dPath"/>).</summary>
    private string P(Conv2dPass pass, in Conv2dGeometry g) => "path=" + Conv2dPathNames.Of(ChooseConv2dPath(pass, g));

    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        var geo = g;
        Time($"Conv2dForward {G(g)} {P(Conv2dPass.Forward, g)}", () => base.Conv2dForward(x, w, bias, y, geo));
    }

    /// <inheritdoc/>
    public override void Conv2dForwardRelu(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        var geo = g;
        Time($"Conv2dForwardRelu {G(g)} {P(Conv2dPass.Forward, g)}", () => base.Conv2dForwardRelu(x, w, bias, y, geo));
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardInput(Storage dy, Storage w, Storage dx, in Conv2dGeometry g)
    {
        var geo = g;
        Time($"Conv2dBackwardInput {G(g)} {P(Conv2dPass.BackwardInput, g)}", () => base.Conv2dBackwardInput(dy, w, dx, geo));
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g)
    {
        var geo = g;
        Time($"Conv2dBackwardWeight {G(g)} {P(Conv2dPass.BackwardWeight, g)}", () => base.Conv2dBackwardWeight(x, dy, dw, geo));
    }

    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, Storage y, Storage argmax, in Pool2dGeometry g)
    {
        var geo = g;
        Time($"MaxPool2dForward [{g.N},{g.C},{g.H},{g.W}]", () => base.MaxPool2dForward(x, y, argmax, geo));
    }

    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage argmax, Storage dx, in Pool2dGeometry g)
    {
        var geo = g;
        Time($"MaxPool2dBackward [{g.N},{g.C},{g.H},{g.W}]", () => base.MaxPool2dBackward(dy, argmax, dx, geo));
    }

    /// <inheritdoc/>
    public override void BatchNorm2dForward(Storage x, Storage? weight, Storage? bias, Storage y, Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar, int n, int c, int hw, float eps, float momentum, bool training) =>
        Time($"BatchNorm2dForward [{n},{c},{hw}]", () => base.BatchNorm2dForward(x, weight, bias, y, mean, invStd, runningMean, runningVar, n, c, hw, eps, momentum, training));

    /// <inheritdoc/>
    public override void BatchNorm2dBackward(Storage dy, Storage x, Storage? weight, Storage mean, Storage invStd, Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training) =>
        Time($"BatchNorm2dBackward [{n},{c},{hw}]", () => base.BatchNorm2dBackward(dy, x, weight, mean, invStd, dx, dWeight, dBias, n, c, hw, training));

    /// <inheritdoc/>
    public override void Softmax(Storage x, Storage y, int rows, int cols, bool log) => Time($"Softmax {rows}x{cols}", () => base.Softmax(x, y, rows, cols, log));

    /// <inheritdoc/>
    public override void SoftmaxBackward(Storage y, Storage dy, Storage dx, int rows, int cols, bool log) => Time($"SoftmaxBackward {rows}x{cols}", () => base.SoftmaxBackward(y, dy, dx, rows, cols, log));

    /// <inheritdoc/>
    public override void BiasedSoftmax(Storage x, Storage? bias, Storage? keyMask, Storage y, int rows, int cols, int rowsPerMask, float scale) =>
        Time($"BiasedSoftmax {rows}x{cols}", () => base.BiasedSoftmax(x, bias, keyMask, y, rows, cols, rowsPerMask, scale));

    /// <inheritdoc/>
    public override void BiasedSoftmaxBackward(Storage y, Storage dy, Storage? dx, Storage? dBias, int rows, int cols, float scale) =>
        Time($"BiasedSoftmaxBackward {rows}x{cols}", () => base.BiasedSoftmaxBackward(y, dy, dx, dBias, rows, cols, scale));

    /// <inheritdoc/>
    public override void CrossEntropyForward(Storage logits, Storage labels, Storage loss, Storage probs, int n, int c) =>
        Time("CrossEntropyForward", () => base.CrossEntropyForward(logits, labels, loss, probs, n, c));

    /// <inheritdoc/>
    public override void CrossEntropyBackward(Storage probs, Storage labels, Storage dLoss, Storage dLogits, int n, int c) =>
        Time("CrossEntropyBackward", () => base.CrossEntropyBackward(probs, labels, dLoss, dLogits, n, c));

    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p)
    {
        var args = p;
        Time("AdamStep", () => base.AdamStep(param, grad, m, v, n, args));
    }
}
