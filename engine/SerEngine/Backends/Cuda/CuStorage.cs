namespace SerEngine.Backends.Cuda;

/// <summary>Device memory of the CUDA backend: one <c>cuMemAlloc</c> allocation (none for zero elements).</summary>
public sealed class CuStorage : Storage
{
    internal CuStorage(CudaBackend backend, DType dtype, int length, ulong ptr) : base(backend, dtype, length) => Ptr = ptr;

    /// <summary>The <c>CUdeviceptr</c> (0 for an empty buffer).</summary>
    internal ulong Ptr { get; set; }
}

/// <summary>One kernel argument: a device pointer, an int or a float (the dialect's argument types).</summary>
internal readonly struct CuArg
{
    private CuArg(byte kind, ulong ptr, int i, float f)
    {
        Kind = kind;
        Ptr = ptr;
        I = i;
        F = f;
    }

    public byte Kind { get; }   // 0 pointer, 1 int, 2 float
    public ulong Ptr { get; }
    public int I { get; }
    public float F { get; }

    public static CuArg Buffer(ulong ptr) => new(0, ptr, 0, 0);

    public static CuArg Int(int value) => new(1, 0, value, 0);

    public static CuArg Float(float value) => new(2, 0, 0, value);

    public static implicit operator CuArg(int value) => Int(value);

    public static implicit operator CuArg(float value) => Float(value);
}
