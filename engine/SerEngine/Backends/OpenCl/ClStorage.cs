namespace SerEngine.Backends.OpenCl;

/// <summary>Device memory of the OpenCL backend: one <c>cl_mem</c> buffer (none for zero elements).</summary>
public sealed class ClStorage : Storage
{
    internal ClStorage(OpenClBackend backend, DType dtype, int length, nint mem) : base(backend, dtype, length) => Mem = mem;

    /// <summary>The <c>cl_mem</c> handle (0 for an empty buffer).</summary>
    internal nint Mem { get; set; }
}

/// <summary>One kernel argument: a buffer, an int or a float (the dialect's argument types).</summary>
internal readonly struct ClArg
{
    private ClArg(byte kind, nint mem, int i, float f)
    {
        Kind = kind;
        Mem = mem;
        I = i;
        F = f;
    }

    public byte Kind { get; }   // 0 buffer, 1 int, 2 float
    public nint Mem { get; }
    public int I { get; }
    public float F { get; }

    public static ClArg Buffer(nint mem) => new(0, mem, 0, 0);

    public static ClArg Int(int value) => new(1, 0, value, 0);

    public static ClArg Float(float value) => new(2, 0, 0, value);

    public static implicit operator ClArg(int value) => Int(value);

    public static implicit operator ClArg(float value) => Float(value);
}
