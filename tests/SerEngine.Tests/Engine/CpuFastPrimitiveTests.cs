using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fast <c>cpu</c> backend's memory-bound primitives (elementwise, sum-to/broadcast, permute,
/// softmax family, batch norm, max pool, Adam) and its buffer pool against the <c>cpu-reference</c>
/// loops: odd sizes, broadcasts along every axis, aliasing, masks, NaN, one thread and two threads with
/// sizes above the threshold where the work is cut into chunks. Outputs start as NaN, so a fast path
/// that skips an element fails.
/// </summary>
public class CpuFastPrimitiveTests
{
    private static readonly Backend Ref = BackendRegistry.Get("cpu-reference");
    private static readonly CpuBackend[] Fast = [new CpuBackend(1), new CpuBackend(2), new CpuBackend(3)];

    // (a shape, b shape): every broadcast pattern the models use, and some they do not
    public static TheoryData<int[], int[]> BinaryShapes => new()
    {
        { [7, 13], [7, 13] },
        { [300, 257], [300, 257] },            // same shape, above the parallel threshold
        { [480, 256], [1, 256] },              // linear bias
        { [32, 4, 15, 64], [1, 4, 1, 64] },    // focus u_p
        { [32, 4, 15, 15], [32, 4, 15, 1] },   // row broadcast
        { [1, 1, 1, 15], [32, 4, 15, 1] },     // outer-product broadcast
        { [16, 64, 49, 74], [1, 64, 1, 1] },   // channel broadcast, large
        { [5, 1, 3], [1, 4, 1] },
        { [3], [2, 3] },                       // rank difference
        { [], [4, 5] },                        // scalar
        { [9, 1], [9, 1] },
        { [6, 7, 5], [6, 1, 5] },              // short runs, both operands stepping
        { [6, 7, 5], [1, 7, 1] },              // short runs, b one value a run
        { [3, 5, 256], [3, 1, 256] },          // the longest short run
        { [3, 5, 257], [1, 5, 1] },            // one past it
        { [64, 30, 24], [64, 1, 24] },         // short runs above the parallel threshold
        { [1, 4, 64, 15], [1, 4, 1, 1] },      // one value a run, inline (the attention gates at batch 1)
        { [4, 1, 1], [4, 6, 5] },              // a one value a run, inline
        { [2, 7, 1], [2, 7, 3] },              // runs shorter than a vector
        { [1, 256], [256] },                   // the same size at another rank (a row bias at batch 1)
        { [5, 3, 1], [5, 3, 1] },
    };

    [Theory]
    [MemberData(nameof(BinaryShapes))]
    public void BinaryBroadcastsAgree(int[] aDims, int[] bDims)
    {
        var rng = new Generator(31);
        Shape aShape = aDims, bShape = bDims, yShape = Shape.Broadcast(aShape, bShape);
        var a = Random(rng, aShape.Size, 0.5f);
        var b = Random(rng, bShape.Size, 0.5f); // away from zero for division
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            var expected = Output(yShape.Size);
            Ref.Binary(op, a, aShape, b, bShape, expected, yShape);
            foreach (var fast in Fast)
            {
                var y = Output(yShape.Size);
                fast.Binary(op, a, aShape, b, bShape, y, yShape);
                Agree(expected, y, 1e-6, $"{op} {aShape} {bShape} t{fast.ThreadCount}");
            }
        }
    }

    [Fact]
    public void BinaryMayWriteIntoItsFirstOperand()
    {
        var rng = new Generator(32);
        Shape yShape = new(300, 129), bShape = new(1, 129);
        var a0 = RandomArray(rng, yShape.Size, 0f);
        var b = Random(rng, bShape.Size, 0f);
        var expected = Output(yShape.Size);
        Ref.Binary(BinaryOp.Add, Store(a0), yShape, b, bShape, expected, yShape);
        foreach (var fast in Fast)
        {
            var a = Store(a0);
            fast.Binary(BinaryOp.Add, a, yShape, b, bShape, a, yShape);
            Agree(expected, a, 0, $"in place t{fast.ThreadCount}");
        }
    }

    [Theory]
    [InlineData(37)]
    [InlineData(100_003)]
    public void UnaryAndItsBackwardAgree(int n)
    {
        var rng = new Generator(33);
        var x = RandomArray(rng, n, 0f);
        x[0] = float.NaN;
        x[1] = -0f;
        x[2] = 0f;
        var positive = x.Select(v => float.IsNaN(v) ? 1f : MathF.Abs(v) + 0.1f).ToArray(); // for log and sqrt
        var dy = Random(rng, n, 0f);
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            var input = Store(op is UnaryOp.Log or UnaryOp.Sqrt ? positive : x);
            var y = Output(n);
            Ref.Unary(op, input, y, n, 0.7f);
            var dx = Output(n);
            Ref.UnaryBackward(op, input, y, dy, dx, n, 0.7f);
            foreach (var fast in Fast)
            {
                var yf = Output(n);
                fast.Unary(op, input, yf, n, 0.7f);
                Agree(y, yf, 2e-6, $"{op} n {n} t{fast.ThreadCount}", nanEqual: true);
                var dxf = Output(n);
                fast.UnaryBackward(op, input, y, dy, dxf, n, 0.7f);
                Agree(dx, dxf, 2e-6, $"{op} backward n {n} t{fast.ThreadCount}", nanEqual: true);
            }
        }
    }

    // (x shape, summed-to shape)
    public static TheoryData<int[], int[]> SumToShapes => new()
    {
        { [32, 32, 25, 62], [1, 32, 1, 1] },   // conv bias gradient
        { [480, 256], [1, 256] },              // linear bias gradient
        { [32, 4, 15, 64], [32, 4, 15, 1] },   // last axis
        { [32, 4, 15, 64], [1, 4, 1, 64] },
        { [32, 15, 480], [32, 1, 480] },       // mean over time
        { [1, 768, 15], [1, 768, 1] },         // mean over time, feature-major: short runs summed alone
        { [2, 5, 31], [2, 5, 1] },
        { [3, 1, 4, 1], [3, 1, 1, 1] },
        { [4, 6, 3], [1, 6, 1] },              // short runs, outer axis summed too
        { [7, 5, 3], [1, 1, 1] },              // everything
        { [3, 200_000], [3, 1] },
        { [200_000, 3], [1, 3] },              // one long kept run cut among threads
        { [6, 7], [6, 7] },
        { [9, 33], [1, 33] },                  // a 32-column block and a one-column tail
        { [7, 3, 45], [1, 3, 45] },            // several kept rows, 8-wide and scalar tails
        { [0, 4], [1, 4] },                    // nothing to sum: zeros
    };

    [Theory]
    [MemberData(nameof(SumToShapes))]
    public void SumToAndBroadcastToAgree(int[] xDims, int[] yDims)
    {
        var rng = new Generator(34);
        Shape xShape = xDims, yShape = yDims;
        var x = Random(rng, xShape.Size, 0f);
        var y = Random(rng, yShape.Size, 0f);
        var sum = Output(yShape.Size);
        Ref.SumTo(x, xShape, sum, yShape);
        var broadcast = Output(xShape.Size);
        Ref.BroadcastTo(y, yShape, broadcast, xShape);
        foreach (var fast in Fast)
        {
            var s = Output(yShape.Size);
            fast.SumTo(x, xShape, s, yShape);
            Agree(sum, s, 1e-5, $"sum {xShape} to {yShape} t{fast.ThreadCount}");
            var b = Output(xShape.Size);
            fast.BroadcastTo(y, yShape, b, xShape);
            Agree(broadcast, b, 0, $"broadcast {yShape} to {xShape} t{fast.ThreadCount}");
        }
    }

    public static TheoryData<int[], int[]> Permutations => new()
    {
        { [32, 15, 4, 64], [0, 2, 1, 3] },     // split heads
        { [32, 80, 6, 15], [0, 3, 1, 2] },     // tokens
        { [32, 4, 15, 64], [0, 1, 3, 2] },     // transpose of the last two
        { [3, 40, 50], [2, 1, 0] },
        { [17, 33], [1, 0] },
        { [300, 257], [1, 0] },                // above the parallel threshold
        { [2, 3, 4, 5, 6], [4, 0, 3, 1, 2] },
        { [1, 7, 1, 9], [3, 2, 1, 0] },        // size-1 axes
        { [5, 6], [0, 1] },                    // identity
        { [32, 15, 4, 64], [0, 2, 1, 3] },     // head split: short contiguous runs
        { [32, 15, 80, 6], [0, 2, 3, 1] },     // tokens back to channels
        { [5, 7, 300], [1, 0, 2] },            // contiguous runs past the short-run length
        { [3, 7, 9], [0, 2, 1] },              // small transpose tiles with tails
    };

    [Theory]
    [MemberData(nameof(Permutations))]
    public void PermuteAgrees(int[] dims, int[] perm)
    {
        var rng = new Generator(35);
        Shape shape = dims;
        var x = Random(rng, shape.Size, 0f);
        var expected = Output(shape.Size);
        Ref.Permute(x, shape, perm, expected);
        var ints = Ref.Allocate(shape.Size, DType.Int32);
        Ref.Write(ints, Enumerable.Range(0, shape.Size).ToArray());
        var expectedInts = Ref.Allocate(shape.Size, DType.Int32);
        Ref.Permute(ints, shape, perm, expectedInts);
        foreach (var fast in Fast)
        {
            var y = Output(shape.Size);
            fast.Permute(x, shape, perm, y);
            Agree(expected, y, 0, $"permute {shape} [{string.Join(",", perm)}] t{fast.ThreadCount}");
            var yi = Ref.Allocate(shape.Size, DType.Int32);
            fast.Permute(ints, shape, perm, yi);
            Assert.Equal(ReadInts(expectedInts), ReadInts(yi));
        }
    }

    [Theory]
    [InlineData(7, 5)]
    [InlineData(2048, 131)]
    public void SoftmaxAndLogSoftmaxAgree(int rows, int cols)
    {
        var rng = new Generator(36);
        var x = Random(rng, rows * cols, 0f, 3f);
        var dy = Random(rng, rows * cols, 0f);
        foreach (bool log in new[] { false, true })
        {
            var y = Output(rows * cols);
            Ref.Softmax(x, y, rows, cols, log);
            var dx = Output(rows * cols);
            Ref.SoftmaxBackward(y, dy, dx, rows, cols, log);
            foreach (var fast in Fast)
            {
                var yf = Output(rows * cols);
                fast.Softmax(x, yf, rows, cols, log);
                Agree(y, yf, 1e-5, $"softmax log={log} {rows}x{cols} t{fast.ThreadCount}");
                var dxf = Output(rows * cols);
                fast.SoftmaxBackward(y, dy, dxf, rows, cols, log);
                Agree(dx, dxf, 1e-5, $"softmax backward log={log} {rows}x{cols} t{fast.ThreadCount}");
            }
        }
    }

    [Theory]
    [InlineData(6, 3, 5, true, true)]       // bias and mask, 3 rows per mask row
    [InlineData(512, 4, 128, true, true)]   // the benchmark's layout, above the parallel threshold
    [InlineData(60, 1, 40, false, true)]    // attention pooling: mask, no bias
    [InlineData(480, 4, 15, true, false)]   // focus attention: bias, no mask
    [InlineData(9, 9, 13, false, false)]
    public void BiasedSoftmaxAgrees(int rows, int rowsPerMask, int cols, bool withBias, bool withMask)
    {
        var rng = new Generator(37);
        var x = Random(rng, rows * cols, 0f, 4f);
        var bias = withBias ? Random(rng, rows * cols, 0f) : null;
        Storage? mask = null;
        if (withMask)
        {
            var m = new int[rows / rowsPerMask * cols];
            for (int i = 0; i < m.Length; i++) m[i] = rng.NextSingle() < 0.3f ? 0 : 1;
            for (int j = 0; j < cols; j++) m[j] = 0; // the first mask row: every key masked → zeros
            mask = Ref.Allocate(m.Length, DType.Int32);
            Ref.Write(mask, m);
        }
        var dy = Random(rng, rows * cols, 0f);
        var y = Output(rows * cols);
        Ref.BiasedSoftmax(x, bias, mask, y, rows, cols, rowsPerMask, 0.3f);
        var (dx, db) = (Output(rows * cols), Output(rows * cols));
        Ref.BiasedSoftmaxBackward(y, dy, dx, db, rows, cols, 0.3f);
        foreach (var fast in Fast)
        {
            string what = $"{rows}x{cols} bias={withBias} mask={withMask} t{fast.ThreadCount}";
            var yf = Output(rows * cols);
            fast.BiasedSoftmax(x, bias, mask, yf, rows, cols, rowsPerMask, 0.3f);
            Agree(y, yf, 1e-5, $"biased softmax {what}");
            if (withMask) Assert.All(ReadFloats(yf).Take(rowsPerMask * cols), v => Assert.Equal(0f, v));
            var (dxf, dbf) = (Output(rows * cols), Output(rows * cols));
            fast.BiasedSoftmaxBackward(y, dy, dxf, dbf, rows, cols, 0.3f);
            Agree(dx, dxf, 1e-5, $"biased softmax dx {what}");
            Agree(db, dbf, 1e-5, $"biased softmax dBias {what}");
            var dxOnly = Output(rows * cols);
            fast.BiasedSoftmaxBackward(y, dy, dxOnly, null, rows, cols, 0.3f);
            Agree(dx, dxOnly, 1e-5, $"biased softmax dx alone {what}");
            var dbOnly = Output(rows * cols);
            fast.BiasedSoftmaxBackward(y, dy, null, dbOnly, rows, cols, 0.3f);
            Agree(db, dbOnly, 1e-5, $"biased softmax dBias alone {what}");
        }
    }

    [Theory]
    [InlineData(3, 5, 7, true)]
    [InlineData(32, 8, 1550, true)]      // conv1a's output
    [InlineData(32, 80, 90, false)]
    [InlineData(2, 3, 1, true)]
    public void BatchNormAgrees(int n, int c, int hw, bool withAffine)
    {
        var rng = new Generator(38);
        var x = Store(RandomArray(rng, n * c * hw, 0f, 2f).Select(v => v + 3f).ToArray()); // a mean far from zero
        var w = withAffine ? Random(rng, c, 1f) : null;
        var b = withAffine ? Random(rng, c, 0f) : null;
        var dy = Random(rng, n * c * hw, 0f);
        var rm0 = RandomArray(rng, c, 0f);
        var rv0 = RandomArray(rng, c, 0f).Select(v => MathF.Abs(v) + 0.5f).ToArray();
        foreach (bool training in new[] { true, false })
        {
            var (y, mean, istd, rm, rv) = (Output(n * c * hw), Output(c), Output(c), Store(rm0), Store(rv0));
            Ref.BatchNorm2dForward(x, w, b, y, mean, istd, rm, rv, n, c, hw, 1e-5f, 0.1f, training);
            var (dx, dw, db) = (Output(n * c * hw), Output(c), Output(c));
            Ref.BatchNorm2dBackward(dy, x, w, mean, istd, dx, dw, db, n, c, hw, training);
            foreach (var fast in Fast)
            {
                string what = $"[{n},{c},{hw}] training={training} affine={withAffine} t{fast.ThreadCount}";
                var (yf, meanf, istdf, rmf, rvf) = (Output(n * c * hw), Output(c), Output(c), Store(rm0), Store(rv0));
                fast.BatchNorm2dForward(x, w, b, yf, meanf, istdf, rmf, rvf, n, c, hw, 1e-5f, 0.1f, training);
                Agree(y, yf, 1e-5, $"batchnorm y {what}");
                Agree(mean, meanf, 1e-6, $"batchnorm mean {what}");
                Agree(istd, istdf, 1e-6, $"batchnorm invStd {what}");
                Agree(rm, rmf, 1e-6, $"batchnorm running mean {what}");
                Agree(rv, rvf, 1e-6, $"batchnorm running var {what}");
                var (dxf, dwf, dbf) = (Output(n * c * hw), Output(c), Output(c));
                fast.BatchNorm2dBackward(dy, x, w, mean, istd, dxf, dwf, dbf, n, c, hw, training);
                Agree(dx, dxf, 1e-5, $"batchnorm dx {what}");
                Agree(dw, dwf, 1e-5, $"batchnorm dWeight {what}");
                Agree(db, dbf, 1e-5, $"batchnorm dBias {what}");
            }
        }
    }

    public static TheoryData<Pool2dGeometry> Pools => new()
    {
        new Pool2dGeometry(32, 32, 25, 62, 2, 2, 2, 2, 0, 0),   // FocusCalibrationNet
        new Pool2dGeometry(4, 64, 49, 74, 3, 3, 2, 2, 0, 0),    // AttentionFcn
        new Pool2dGeometry(2, 3, 9, 10, 3, 2, 2, 1, 1, 1),      // padding
        new Pool2dGeometry(1, 2, 7, 7, 3, 3, 3, 3, 1, 0),
        new Pool2dGeometry(2, 3, 9, 37, 2, 2, 1, 2, 0, 0),      // 2 × 2 windows overlapping along H
        new Pool2dGeometry(1, 2, 5, 17, 3, 3, 2, 2, 0, 0),      // the last row's vector loads would pass the plane's end
        new Pool2dGeometry(2, 3, 8, 40, 4, 5, 2, 2, 0, 0),      // wider windows, stride 2
    };

    [Theory]
    [MemberData(nameof(Pools))]
    public void MaxPoolAgrees(Pool2dGeometry g)
    {
        var rng = new Generator(39);
        var data = RandomArray(rng, g.N * g.C * g.H * g.W, 0f);
        data[3] = float.NaN;
        for (int i = 10; i < 30 && i < data.Length; i++) data[i] = 1f; // ties
        for (int i = 40; i < 48 && i < data.Length; i++) data[i] = float.NegativeInfinity; // whole windows of −∞
        var x = Store(data);
        int outSize = g.N * g.C * g.OutH * g.OutW;
        var dy = Random(rng, outSize, 0f);
        var (y, arg) = (Output(outSize), Ref.Allocate(outSize, DType.Int32));
        Ref.MaxPool2dForward(x, y, arg, g);
        var dx = Output(data.Length);
        Ref.MaxPool2dBackward(dy, arg, dx, g);
        foreach (var fast in Fast)
        {
            var (yf, argf) = (Output(outSize), Ref.Allocate(outSize, DType.Int32));
            fast.MaxPool2dForward(x, yf, argf, g);
            Agree(y, yf, 0, $"maxpool {g} t{fast.ThreadCount}", nanEqual: true);
            Assert.Equal(ReadInts(arg), ReadInts(argf));
            var dxf = Output(data.Length);
            fast.MaxPool2dBackward(dy, arg, dxf, g);
            Agree(dx, dxf, 0, $"maxpool backward {g} t{fast.ThreadCount}");
        }
    }

    [Theory]
    [InlineData(false, 0f)]
    [InlineData(false, 1e-2f)]
    [InlineData(true, 1e-2f)]
    public void AdamIsBitIdenticalToTheReference(bool decoupled, float weightDecay)
    {
        var rng = new Generator(40);
        const int n = 70_001;
        var p0 = RandomArray(rng, n, 0f);
        var m0 = RandomArray(rng, n, 0f);
        var v0 = RandomArray(rng, n, 0f).Select(MathF.Abs).ToArray();
        var grad = Random(rng, n, 0f);
        var args = new AdamStepParams(1e-3f, 0.9f, 0.999f, 1e-8f, weightDecay, decoupled, 3);
        var (p, m, v) = (Store(p0), Store(m0), Store(v0));
        Ref.AdamStep(p, grad, m, v, n, args);
        foreach (var fast in Fast)
        {
            var (pf, mf, vf) = (Store(p0), Store(m0), Store(v0));
            fast.AdamStep(pf, grad, mf, vf, n, args);
            Assert.Equal(ReadFloats(p), ReadFloats(pf));
            Assert.Equal(ReadFloats(m), ReadFloats(mf));
            Assert.Equal(ReadFloats(v), ReadFloats(vf));
        }
    }

    [Fact]
    public void MultiTensorAdamIsBitIdenticalToTheReference()
    {
        var rng = new Generator(41);
        int[] sizes = [1, 7, 16_384, 16_385, 40_000, 9];
        var args = new AdamStepParams(1e-3f, 0.9f, 0.999f, 1e-8f, 1e-6f, false, 2);
        var init = sizes.Select(n => (P: RandomArray(rng, n, 0f), M: RandomArray(rng, n, 0f), V: RandomArray(rng, n, 0f).Select(MathF.Abs).ToArray(), G: Random(rng, n, 0f))).ToArray();
        var want = init.Select(x => (P: Store(x.P), M: Store(x.M), V: Store(x.V))).ToArray();
        for (int i = 0; i < sizes.Length; i++) Ref.AdamStep(want[i].P, init[i].G, want[i].M, want[i].V, sizes[i], args);
        foreach (var fast in Fast)
        {
            var got = init.Select(x => (P: Store(x.P), M: Store(x.M), V: Store(x.V))).ToArray();
            fast.AdamStepMulti(got.Select((x, i) => new AdamTensors(x.P, init[i].G, x.M, x.V, sizes[i])).ToArray(), args);
            for (int i = 0; i < sizes.Length; i++)
            {
                Assert.Equal(ReadFloats(want[i].P), ReadFloats(got[i].P));
                Assert.Equal(ReadFloats(want[i].M), ReadFloats(got[i].M));
                Assert.Equal(ReadFloats(want[i].V), ReadFloats(got[i].V));
            }
        }
    }

    [Fact]
    public void ShiftedConvolutionAgreesAcrossTapChunksAndImageGroups()
    {
        // 40 channels of 3×3 taps: more than one tap chunk in forward and backward-input; images of
        // ~30 K floats: backward-weight works through several image groups per thread
        var g = new Conv2dGeometry(5, 40, 23, 26, 7, 3, 3, 1, 1, 1, 2, 0, 1, 1, 1);
        var rng = new Generator(42);
        var x = Random(rng, g.N * g.C * g.H * g.W, 0f);
        var w = Random(rng, g.K * g.C * g.R * g.S, 0f);
        var bias = Random(rng, g.K, 0f);
        var dy = Random(rng, g.N * g.K * g.OutH * g.OutW, 0f);
        var (y, dx, dw) = (Output(dy.Length), Output(x.Length), Output(w.Length));
        Ref.Conv2dForward(x, w, bias, y, g);
        Ref.Conv2dBackwardInput(dy, w, dx, g);
        Ref.Conv2dBackwardWeight(x, dy, dw, g);
        foreach (var fast in Fast)
        {
            var (yf, dxf, dwf) = (Output(dy.Length), Output(x.Length), Output(w.Length));
            fast.Conv2dForward(x, w, bias, yf, g);
            Agree(y, yf, 1e-5, $"shifted forward t{fast.ThreadCount}");
            fast.Conv2dBackwardInput(dy, w, dxf, g);
            Agree(dx, dxf, 1e-5, $"shifted backward-input t{fast.ThreadCount}");
            fast.Conv2dBackwardWeight(x, dy, dwf, g);
            Agree(dw, dwf, 1e-5, $"shifted backward-weight t{fast.ThreadCount}");
        }
    }

    [Fact]
    public void ReleasedBuffersAreReusedAndLiveBytesStayExact()
    {
        var be = new CpuBackend(2) { Pool = new CpuBufferPool { CapacityBytes = 1 << 20, SlackTest = false } };
        long before = be.LiveBytes;
        var first = be.Allocate(1000, DType.Float32);
        var array = ((CpuStorage)first).F;
        Assert.Equal(before + 4000, be.LiveBytes);
        first.Dispose();
        Assert.Equal(before, be.LiveBytes);
        var second = be.Allocate(1000, DType.Float32);
        Assert.Same(array, ((CpuStorage)second).F);             // same size: the released array comes back
        var other = be.Allocate(1100, DType.Float32);
        Assert.NotSame(array, ((CpuStorage)other).F);           // another size class never gets it
        Assert.Equal(1152, ((CpuStorage)other).F.Length);
        var ints = be.Allocate(1000, DType.Int32);              // nor another element type
        Assert.Equal(1024, ((CpuStorage)ints).I.Length);
        second.Dispose();
        var third = be.Allocate(999, DType.Float32);            // another length of its class does
        Assert.Same(array, ((CpuStorage)third).F);
        Assert.Equal(999, third.Length);
        Assert.Equal(before + 4 * (999 + 1100 + 1000), be.LiveBytes); // live bytes count lengths, not arrays
        third.Dispose();
        other.Dispose();
        ints.Dispose();
        Assert.Equal(before, be.LiveBytes);
    }

    [Fact]
    public void ATrainingStepAllocatesNoNewArraysOnceWarm()
    {
        var be = new CpuBackend(2);
        var rng = new Generator(41);
        var w = Tensor.RandomNormal(new Shape(64, 32), rng, backend: be);
        w.RequiresGrad = true;
        var x = Tensor.RandomNormal(new Shape(16, 32), rng, backend: be);
        void Step()
        {
            using var scope = TensorScope.Begin();
            w.ZeroGrad();
            var loss = Ops.Sum(Ops.Linear(x, w).Relu());
            loss.Backward();
        }
        Step();
        Step();
        long pooled = be.Pool.PooledBytes;
        Step();
        Assert.Equal(pooled, be.Pool.PooledBytes); // everything a step took came back, and nothing new was needed
    }

    private static void Agree(Storage expected, Storage actual, double rtol, string what, bool nanEqual = false)
    {
        var e = ReadFloats(expected);
        var a = ReadFloats(actual);
        double diff = 0, norm = 0;
        for (int i = 0; i < e.Length; i++)
        {
            if (float.IsNaN(e[i]) || float.IsNaN(a[i]))
            {
                Assert.True(nanEqual && float.IsNaN(e[i]) && float.IsNaN(a[i]), $"{what}: element {i} is {a[i]}, expected {e[i]}");
                continue;
            }
            double d = (double)a[i] - e[i];
            diff += d * d;
            norm += (double)e[i] * e[i];
        }
        double lhs = Math.Sqrt(diff), rhs = rtol * Math.Sqrt(norm) + (rtol == 0 ? 0 : 1e-7 * Math.Sqrt(e.Length));
        Assert.True(lhs <= rhs, $"{what}: ‖fast − reference‖ = {lhs:G4} > {rhs:G4}");
    }

    private static float[] ReadFloats(Storage s)
    {
        var v = new float[s.Length];
        Ref.Read(s, v);
        return v;
    }

    private static int[] ReadInts(Storage s)
    {
        var v = new int[s.Length];
        Ref.Read(s, v);
        return v;
    }

    private static float[] RandomArray(Generator rng, int n, float offset, float scale = 1f)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            float r = scale * rng.NextNormal();
            v[i] = offset == 0f ? r : (r < 0 ? r - offset : r + offset);
        }
        return v;
    }

    private static Storage Store(float[] values)
    {
        var s = Ref.Allocate(values.Length, DType.Float32);
        Ref.Write(s, values);
        return s;
    }

    private static Storage Random(Generator rng, int n, float offset, float scale = 1f) => Store(RandomArray(rng, n, offset, scale));

    private static Storage Output(int n)
    {
        var s = Ref.Allocate(n, DType.Float32);
        Ref.Fill(s, n, float.NaN);
        return s;
    }
}
