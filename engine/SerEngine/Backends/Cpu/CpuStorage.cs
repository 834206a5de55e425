namespace SerEngine.Backends.Cpu;

/// <summary>Host memory for the CPU backends: a managed array of floats or ints.</summary>
public sealed class CpuStorage : Storage
{
    internal CpuStorage(Backend backend, DType dtype, int length) : base(backend, dtype, length)
    {
        if (dtype == DType.Float32) F = new float[length];
        else I = new int[length];
    }

    /// <summary>Float data (Float32 storages).</summary>
    public float[] F { get => field ?? throw new InvalidOperationException($"expected a Float32 buffer, found {DType}"); private set; } = null!;

    /// <summary>Int data (Int32 storages).</summary>
    public int[] I { get => field ?? throw new InvalidOperationException($"expected an Int32 buffer, found {DType}"); private set; } = null!;
}
