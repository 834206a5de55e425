using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// One buffer held twice, on a GPU backend and on the CPU reference, with the same contents: tests
/// run a primitive on both and compare the twins element by element.
/// </summary>
internal sealed class KernelTwin : IDisposable
{
    public static readonly CpuReferenceBackend Reference = new();

    /// <summary>
    /// The shared GPU backend named <paramref name="device"/> (<c>opencl</c>, <c>cuda</c>, <c>ilgpu-cpu</c> or <c>ilgpu</c>), or null
    /// after saying why (see <see cref="GpuTestDevices"/>: no OpenCL device fails under CI=true; no CUDA
    /// driver returns early).
    /// </summary>
    public static Backend? Device(string device, ITestOutputHelper output) => device switch
    {
        "opencl" => GpuTestDevices.OpenCl(output),
        "cuda" => GpuTestDevices.Cuda(output),
        "ilgpu-cpu" => BackendRegistry.Get("ilgpu-cpu"), // ILGPU's CPU accelerator: managed code, always present
        "ilgpu" => GpuTestDevices.IlgpuGpu(output),        // ILGPU on a GPU (the lent machine's run.sh); skipped here
        _ => throw new ArgumentOutOfRangeException(nameof(device), device, "opencl, cuda, ilgpu-cpu or ilgpu"),
    };

    private KernelTwin(Backend gpu, DType dtype, int length)
    {
        GpuBackend = gpu;
        Length = length;
        Gpu = gpu.Allocate(length, dtype);
        Cpu = Reference.Allocate(length, dtype);
    }

    public Backend GpuBackend { get; }
    public Storage Gpu { get; }
    public Storage Cpu { get; }
    public int Length { get; }

    public static KernelTwin Of(Backend gpu, float[] values)
    {
        var t = new KernelTwin(gpu, DType.Float32, values.Length);
        gpu.Write(t.Gpu, values);
        Reference.Write(t.Cpu, values);
        return t;
    }

    public static KernelTwin Of(Backend gpu, int[] values)
    {
        var t = new KernelTwin(gpu, DType.Int32, values.Length);
        gpu.Write(t.Gpu, values);
        Reference.Write(t.Cpu, values);
        return t;
    }

    /// <summary>Sentinel elements after every output buffer: a kernel that writes past its output changes them.</summary>
    public const int OutputPadding = 67;

    /// <summary>
    /// An output buffer of <paramref name="length"/> elements plus <see cref="OutputPadding"/>, pre-filled
    /// with a sentinel on both sides, so an element the kernel misses, or one it writes out of bounds, shows up.
    /// </summary>
    public static KernelTwin Output(Backend gpu, int length) => Of(gpu, Enumerable.Repeat(777.25f, length + OutputPadding).ToArray());

    /// <summary>Normal values (times <paramref name="scale"/>, plus <paramref name="offset"/>) from a fixed seed.</summary>
    public static float[] Normal(int n, int seed, float scale = 1f, float offset = 0f)
    {
        var rng = new Generator((ulong)seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)rng.NextNormal() * scale + offset;
        return v;
    }

    public float[] GpuFloats()
    {
        var v = new float[Length];
        GpuBackend.Read(Gpu, v);
        return v;
    }

    public float[] CpuFloats()
    {
        var v = new float[Length];
        Reference.Read(Cpu, v);
        return v;
    }

    public int[] GpuInts()
    {
        var v = new int[Length];
        GpuBackend.Read(Gpu, v);
        return v;
    }

    public int[] CpuInts()
    {
        var v = new int[Length];
        Reference.Read(Cpu, v);
        return v;
    }

    /// <summary>Asserts |gpu − cpu| ≤ atol + rtol·|cpu| everywhere (NaN only where the reference has NaN), naming the worst element.</summary>
    public void AssertClose(double rtol, double atol, string what) => AssertClose(CpuFloats(), GpuFloats(), rtol, atol, what);

    /// <summary>Asserts the GPU buffer equals the reference bit for bit.</summary>
    public void AssertExact(string what)
    {
        if (Gpu.DType == DType.Int32)
        {
            Assert.True(CpuInts().SequenceEqual(GpuInts()), $"{what}: Int32 contents differ");
            return;
        }
        var want = CpuFloats();
        var got = GpuFloats();
        for (int i = 0; i < want.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]),
                $"{what}: element {i} is {got[i]:R}, reference {want[i]:R}");
    }

    public static void AssertClose(float[] want, float[] got, double rtol, double atol, string what)
    {
        Assert.Equal(want.Length, got.Length);
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < want.Length; i++)
        {
            if (float.IsNaN(want[i]) || float.IsNaN(got[i]))
            {
                Assert.True(float.IsNaN(want[i]) && float.IsNaN(got[i]), $"{what}: element {i} is {got[i]:R}, reference {want[i]:R}");
                continue;
            }
            double excess = Math.Abs((double)got[i] - want[i]) - (atol + rtol * Math.Abs(want[i]));
            if (excess > worstExcess)
            {
                worstExcess = excess;
                worst = i;
            }
        }
        Assert.True(worst < 0, worst < 0 ? "" : $"{what}: element {worst} of {want.Length} is {got[worst]:R}, reference {want[worst]:R} (rtol {rtol}, atol {atol})");
    }

    public void Dispose()
    {
        Gpu.Dispose();
        Cpu.Dispose();
    }
}
