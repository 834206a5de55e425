using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Backends.Cuda;
using SerEngine.Backends.Gpu;
using SerEngine.Backends.OpenCl;

namespace SerEngine.Tests.Gpu;

/// <summary>kernels/gemm.cl on OpenCL against the CPU reference: every variant, every transpose.</summary>
[Collection(ProcessWideCollection.Name)] // switches the shared backend's kernel variants
public class GemmKernelTests(ITestOutputHelper output)
{
    private readonly CpuReferenceBackend _cpu = new();

    // (batch, m, n, k): odd sizes, sizes that are not multiples of any tile, several work-groups per
    // dimension (regblock tiles are 64, tiled 16), single rows/columns, an empty reduction; the last two
    // have every size a multiple of 4, so the tile steps take their float4 loads (ragged tiles, whole tiles).
    private static readonly (int Batch, int M, int N, int K)[] Shapes =
    [
        (1, 1, 1, 1), (1, 7, 17, 33), (2, 65, 33, 17), (1, 129, 65, 7), (3, 33, 129, 65), (1, 1, 129, 17), (2, 5, 3, 0),
        (2, 68, 36, 44), (1, 64, 128, 32),
    ];

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void EveryVariantMatchesTheReferenceForAllTransposes(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        var saved = gpu.GemmVariant;
        try
        {
            foreach (var (batch, m, n, k) in Shapes)
            {
                foreach (bool transA in new[] { false, true })
                {
                    foreach (bool transB in new[] { false, true })
                    {
                        ulong seed = (ulong)(m * 1000 + n * 10 + k) + (transA ? 1UL : 0) + (transB ? 2UL : 0);
                        using var a = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(batch * m * k, seed));
                        using var b = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(batch * k * n, seed + 7));
                        using var c = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(batch * m * n, seed + 11));
                        var c0 = c.CpuFloats();
                        float beta = k % 2 == 0 ? 0.5f : 0f;
                        _cpu.Gemm(transA, transB, batch, m, n, k, 1.25f, a.Cpu, m * k, b.Cpu, k * n, beta, c.Cpu, m * n);
                        var expected = c.CpuFloats();
                        foreach (var variant in GpuBackend.GemmVariants)
                        {
                            gpu.GemmVariant = variant;
                            gpu.Write(c.Gpu, c0);
                            gpu.Gemm(transA, transB, batch, m, n, k, 1.25f, a.Gpu, m * k, b.Gpu, k * n, beta, c.Gpu, m * n);
                            KernelPair.AssertClose(expected, c.GpuFloats(), 1e-5 + 2e-6 * k, 1e-5,
                                $"{variant} batch {batch} m {m} n {n} k {k} transA {transA} transB {transB}");
                        }
                    }
                }
            }
        }
        finally
        {
            gpu.GemmVariant = saved;
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void BatchStrideZeroSharesAnOperandAndCStrideLeavesGapsAlone(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        var saved = gpu.GemmVariant;
        try
        {
            const int batch = 3, m = 17, n = 70, k = 33, strideC = m * n + 5; // 5 untouched elements after each item
            foreach (var (sharedA, transA, transB) in new[] { (true, false, true), (false, true, false) })
            {
                int strideA = sharedA ? 0 : m * k, strideB = sharedA ? k * n : 0;
                using var a = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(sharedA ? m * k : batch * m * k, 21));
                using var b = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(sharedA ? batch * k * n : k * n, 22));
                var c0 = KernelPair.RandomNormal(batch * strideC, 23);
                using var c = KernelPair.Of(gpu, _cpu, c0);
                _cpu.Gemm(transA, transB, batch, m, n, k, 1f, a.Cpu, strideA, b.Cpu, strideB, 0f, c.Cpu, strideC);
                var expected = c.CpuFloats();
                for (int p = 0; p < batch; p++)
                    for (int e = m * n; e < strideC; e++) Assert.Equal(c0[p * strideC + e], expected[p * strideC + e]);
                foreach (var variant in GpuBackend.GemmVariants)
                {
                    gpu.GemmVariant = variant;
                    gpu.Write(c.Gpu, c0);
                    gpu.Gemm(transA, transB, batch, m, n, k, 1f, a.Gpu, strideA, b.Gpu, strideB, 0f, c.Gpu, strideC);
                    KernelPair.AssertClose(expected, c.GpuFloats(), 1e-4, 1e-5, $"{variant} shared {(sharedA ? "A" : "B")}"); // gaps compared exactly-ish too
                }
            }
        }
        finally
        {
            gpu.GemmVariant = saved;
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void BetaZeroIgnoresNaNInCAndBetaOneAccumulates(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        var saved = gpu.GemmVariant;
        try
        {
            const int m = 9, n = 67, k = 5;
            using var a = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(m * k, 31));
            using var b = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(k * n, 32));
            var ab = new float[m * n];
            using (var c = KernelPair.Output(gpu, _cpu, m * n))
            {
                _cpu.Gemm(false, false, 1, m, n, k, 1f, a.Cpu, 0, b.Cpu, 0, 0f, c.Cpu, 0);
                ab = c.CpuFloats();
            }
            foreach (var variant in GpuBackend.GemmVariants)
            {
                gpu.GemmVariant = variant;
                using var c = gpu.Allocate(m * n, DType.Float32);
                gpu.Write(c, Enumerable.Repeat(float.NaN, m * n).ToArray());
                gpu.Gemm(false, false, 1, m, n, k, 1f, a.Gpu, 0, b.Gpu, 0, 0f, c, 0); // C = A·B, NaN ignored
                gpu.Gemm(false, false, 1, m, n, k, -2f, a.Gpu, 0, b.Gpu, 0, 1f, c, 0); // C = A·B − 2·A·B
                var back = new float[m * n];
                gpu.Read(c, back);
                KernelPair.AssertClose(ab.Select(v => -v).ToArray(), back, 1e-5, 1e-5, $"{variant} beta 0 then beta 1");
            }
        }
        finally
        {
            gpu.GemmVariant = saved;
        }
    }

    [Fact]
    public void Float4LoadsOnlyWhereTheLeadingDimensionOffsetAndBatchStrideAreMultiplesOf4()
    {
        Assert.Equal(1, GpuBackend.Vec4Aligned(44, 0, 68 * 44, 2));
        Assert.Equal(1, GpuBackend.Vec4Aligned(44, 8, 6, 1)); // one batch item: its stride is never used
        Assert.Equal(0, GpuBackend.Vec4Aligned(45, 0, 0, 1));
        Assert.Equal(0, GpuBackend.Vec4Aligned(44, 2, 0, 1));
        Assert.Equal(0, GpuBackend.Vec4Aligned(44, 0, 6, 2));
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void TileStepsMatchTheReferenceAtMisalignedOffsets(string device)
    {
        // leading dimensions that are multiples of 4, offsets that are not (then that operand loads scalars)
        if (KernelPair.Device(device, output) is not { } gpu) return;
        var saved = gpu.GemmVariant;
        try
        {
            const int batch = 2, m = 36, n = 68, k = 20;
            foreach (int offset in new[] { 0, 1, 2, 4 })
            {
                int strideA = m * k + offset, strideB = k * n + 4, strideC = m * n + 3;
                var (a0, b0, c0) = (KernelPair.RandomNormal(offset + batch * strideA, 51),
                    KernelPair.RandomNormal(offset + batch * strideB, 52), KernelPair.RandomNormal(offset + batch * strideC, 53));
                using var a = gpu.Allocate(a0.Length, DType.Float32);
                using var b = gpu.Allocate(b0.Length, DType.Float32);
                using var c = gpu.Allocate(c0.Length, DType.Float32);
                gpu.Write(a, a0);
                gpu.Write(b, b0);
                foreach (bool trans in new[] { false, true })
                {
                    var expected = (float[])c0.Clone(); // the gaps between items stay as they were
                    for (int p = 0; p < batch; p++)
                        CpuGemmAt(trans, m, n, k, a0, offset + p * strideA, b0, offset + p * strideB, expected, offset + p * strideC, 0.5f);
                    foreach (var variant in GpuBackend.GemmVariants)
                    {
                        gpu.GemmVariant = variant;
                        gpu.Write(c, c0);
                        gpu.GemmCore(trans, trans, batch, m, n, k, 1f, a, offset, strideA, b, offset, strideB, 0.5f, c, offset, strideC);
                        var back = new float[c0.Length];
                        gpu.Read(c, back);
                        KernelPair.AssertClose(expected, back, 1e-4, 1e-5, $"{variant} offset {offset} trans {trans}");
                    }
                }
            }
        }
        finally
        {
            gpu.GemmVariant = saved;
        }
    }

    /// <summary>C[cOff..] = A·B + beta·C for one item (transposes both when <paramref name="trans"/>), summed in double.</summary>
    private static void CpuGemmAt(bool trans, int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, float beta)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double acc = 0;
                for (int q = 0; q < k; q++)
                    acc += (double)a[aOff + (trans ? q * m + i : i * k + q)] * b[bOff + (trans ? j * k + q : q * n + j)];
                c[cOff + i * n + j] = (float)(acc + beta * c[cOff + i * n + j]);
            }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void WrongSizesAndUnknownVariantsFailWithTheShapes(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        using var a = gpu.Allocate(12, DType.Float32);
        using var b = gpu.Allocate(12, DType.Float32);
        using var c = gpu.Allocate(8, DType.Float32);
        var ex = Assert.Throws<ArgumentException>(() => gpu.Gemm(false, false, 2, 3, 3, 4, 1f, a, 12, b, 0, 0f, c, 9));
        Assert.Contains("A [3, 4] × batch 2", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => gpu.Gemm(false, true, 1, 3, 3, 4, 1f, a, 0, b, 0, 0f, c, 0));
        Assert.Contains("C [3, 3]", ex.Message, StringComparison.Ordinal);
        using var ints = gpu.Allocate(12, DType.Int32);
        Assert.Throws<InvalidOperationException>(() => gpu.Gemm(false, false, 1, 2, 2, 2, 1f, ints, 0, b, 0, 0f, c, 0));
        var bad = Assert.Throws<ArgumentException>(() => gpu.GemmVariant = "fastest");
        Assert.Contains("naive, tiled, tiled_regblock", bad.Message, StringComparison.Ordinal);
    }
}

/// <summary>The variant environment variables (they change the process environment, so they run alone).</summary>
[Collection("environment")]
public class GemmVariantEnvironmentTests(ITestOutputHelper output)
{
    [Fact]
    public void EnvironmentVariablesChooseTheStartingVariants()
    {
        if (GpuTestDevices.OpenCl(output) is null) return;
        var savedGemm = Environment.GetEnvironmentVariable(GpuBackend.GemmVariantEnvironmentVariable);
        var savedConv = Environment.GetEnvironmentVariable(GpuBackend.Conv2dVariantEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(GpuBackend.GemmVariantEnvironmentVariable, null);
            Environment.SetEnvironmentVariable(GpuBackend.Conv2dVariantEnvironmentVariable, null);
            using (var plain = new OpenClBackend(null, diskCache: null))
            {
                Assert.Equal(GpuBackend.DefaultGemmVariant, plain.GemmVariant);
                Assert.Equal(GpuBackend.DefaultConv2dVariant, plain.Conv2dVariant);
            }
            Environment.SetEnvironmentVariable(GpuBackend.GemmVariantEnvironmentVariable, "tiled");
            Environment.SetEnvironmentVariable(GpuBackend.Conv2dVariantEnvironmentVariable, "direct");
            using (var chosen = new OpenClBackend(null, diskCache: null))
            {
                Assert.Equal("tiled", chosen.GemmVariant);
                Assert.Equal("direct", chosen.Conv2dVariant);
            }
            Environment.SetEnvironmentVariable(GpuBackend.GemmVariantEnvironmentVariable, "blas");
            using var wrong = new OpenClBackend(null, diskCache: null);
            var ex = Assert.Throws<ArgumentException>(() => wrong.GemmVariant);
            Assert.Contains("SERENGINE_GEMM_VARIANT = 'blas'", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(GpuBackend.GemmVariantEnvironmentVariable, savedGemm);
            Environment.SetEnvironmentVariable(GpuBackend.Conv2dVariantEnvironmentVariable, savedConv);
        }
    }
}

/// <summary>The kernel files of gemm, conv2d, maxpool2d and batchnorm2d as CUDA C (NVRTC, no device needed).</summary>
public class KernelCudaCompileTests(ITestOutputHelper output)
{
    [Fact]
    public void KernelFilesCompileToPtxWithTheEngineOptions()
    {
        (string File, string Options, string[] Kernels)[] files =
        [
            ("gemm.cl", GpuBackend.GemmOptions, [.. GpuBackend.GemmVariants.Select(v => "gemm_" + v)]),
            ("conv2d.cl", GpuBackend.ConvOptions,
            [
                "conv2d_fwd_direct", "conv2d_bwd_input_direct", "conv2d_bwd_weight_direct", "conv2d_im2col", "conv2d_col2im",
                "conv2d_add_bias", "conv2d_sum_partials",
                .. GpuBackend.Conv2dVariants.Where(GpuBackend.IsImplicitGemmVariant)
                    .SelectMany(v => new[] { "conv2d_fwd_" + v, "conv2d_bwd_input_" + v, "conv2d_bwd_weight_" + v }),
            ]),
            ("maxpool2d.cl", "", ["maxpool2d_fwd", "maxpool2d_bwd"]),
            ("batchnorm2d.cl", "-DBN_GROUP=256",
                ["batchnorm2d_stats", "batchnorm2d_eval_stats", "batchnorm2d_apply", "batchnorm2d_bwd_reduce", "batchnorm2d_bwd_dx"]),
        ];
        foreach (var (file, _, kernels) in files)
        {
            var src = KernelSource.Load(file, KernelDialect.Cuda, kernelDirectory: "");
            // the text with its includes expanded: conv2d.cl's tile steps live in conv2d_steps.h
            foreach (var k in kernels) Assert.Contains($"KERNEL void {k}(", src.Text, StringComparison.Ordinal);
        }
        if (NvrtcNative.Instance is null)
        {
            output.WriteLine($"SKIPPED (returned early): NVRTC not found, PTX not compiled.\n{NvrtcNative.SearchReport}");
            return;
        }
        foreach (var (file, options, kernels) in files)
        {
            var ptx = CuModuleCache.CompileToPtx(KernelSource.Load(file, KernelDialect.Cuda, kernelDirectory: ""), options: options);
            foreach (var k in kernels) Assert.Contains($".entry {k}(", ptx, StringComparison.Ordinal);
        }
    }
}
