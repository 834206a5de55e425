using SerEngine.Backends;
using SerEngine.Backends.Gpu;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// One buffer on a GPU backend and its twin on the CPU reference, filled with the same values, so a
/// kernel and its reference primitive can run on identical inputs and be compared.
/// </summary>
internal sealed class KernelPair : IDisposable
{
    private KernelPair(Storage gpu, Storage cpu)
    {
        Gpu = gpu;
        Cpu = cpu;
    }

    /// <summary>
    /// The shared GPU backend a kernel test runs on: <c>opencl</c> (PoCL here; required under CI=true)
    /// or <c>cuda</c> (only where a CUDA driver is present); null, after saying why, when absent.
    /// </summary>
    public static GpuBackend? Device(string device, ITestOutputHelper output) => device switch
    {
        "opencl" => GpuTestDevices.OpenCl(output),
        "cuda" => GpuTestDevices.Cuda(output),
        _ => throw new ArgumentException($"unknown device kind '{device}'", nameof(device)),
    };

    /// <summary>The GPU buffer.</summary>
    public Storage Gpu { get; }

    /// <summary>The CPU-reference buffer.</summary>
    public Storage Cpu { get; }

    /// <summary>Both buffers holding <paramref name="values"/>.</summary>
    public static KernelPair Of(Backend gpu, Backend cpu, float[] values)
    {
        var twin = new KernelPair(gpu.Allocate(values.Length, DType.Float32), cpu.Allocate(values.Length, DType.Float32));
        gpu.Write(twin.Gpu, values);
        cpu.Write(twin.Cpu, values);
        return twin;
    }

    /// <summary>Both buffers holding <paramref name="values"/> (Int32).</summary>
    public static KernelPair Of(Backend gpu, Backend cpu, int[] values)
    {
        var twin = new KernelPair(gpu.Allocate(values.Length, DType.Int32), cpu.Allocate(values.Length, DType.Int32));
        gpu.Write(twin.Gpu, values);
        cpu.Write(twin.Cpu, values);
        return twin;
    }

    /// <summary>
    /// An output pair: the GPU side filled with NaN (a kernel must overwrite every element), the CPU
    /// side freshly allocated.
    /// </summary>
    public static KernelPair Output(Backend gpu, Backend cpu, int length)
    {
        var twin = new KernelPair(gpu.Allocate(length, DType.Float32), cpu.Allocate(length, DType.Float32));
        gpu.Write(twin.Gpu, Enumerable.Repeat(float.NaN, length).ToArray());
        return twin;
    }

    /// <summary>An Int32 output pair, the GPU side filled with −7.</summary>
    public static KernelPair IntOutput(Backend gpu, Backend cpu, int length)
    {
        var twin = new KernelPair(gpu.Allocate(length, DType.Int32), cpu.Allocate(length, DType.Int32));
        gpu.Write(twin.Gpu, Enumerable.Repeat(-7, length).ToArray());
        return twin;
    }

    /// <summary>The GPU buffer's contents.</summary>
    public float[] GpuFloats()
    {
        var a = new float[Gpu.Length];
        Gpu.Backend.Read(Gpu, a);
        return a;
    }

    /// <summary>The CPU buffer's contents.</summary>
    public float[] CpuFloats()
    {
        var a = new float[Cpu.Length];
        Cpu.Backend.Read(Cpu, a);
        return a;
    }

    /// <summary>Both sides as ints (GPU, CPU).</summary>
    public (int[] Gpu, int[] Cpu) Ints()
    {
        int[] g = new int[Gpu.Length], c = new int[Cpu.Length];
        Gpu.Backend.Read(Gpu, g);
        Cpu.Backend.Read(Cpu, c);
        return (g, c);
    }

    /// <summary>Asserts |gpu − cpu| ≤ atol + rtol·|cpu| element by element; returns the largest error.</summary>
    public double AssertClose(double atol, double rtol, string what) => AssertClose(CpuFloats(), GpuFloats(), atol, rtol, what);

    /// <summary>Asserts |actual − expected| ≤ atol + rtol·|expected| element by element; returns the largest error.</summary>
    public static double AssertClose(float[] expected, float[] actual, double atol, double rtol, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} elements, expected {expected.Length}");
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs((double)actual[i] - expected[i]);
            if (!(err <= atol + rtol * Math.Abs(expected[i]))) // NaN fails too
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (tolerance {atol} + {rtol}·|expected|)");
            worst = Math.Max(worst, err);
        }
        return worst;
    }

    /// <summary>Standard-normal floats from a seeded generator (offset added).</summary>
    public static float[] RandomNormal(int n, ulong seed, float offset = 0f)
    {
        var rng = new Generator(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)rng.NextNormal() + offset;
        return a;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Gpu.Dispose();
        Cpu.Dispose();
    }
}
