namespace SerEngine.Backends.Gpu;

/// <summary>One kernel argument in the dialect's types: a buffer, an int or a float.</summary>
public readonly struct KernelArg
{
    private KernelArg(KernelArgKind kind, Storage? buffer, int i, float f)
    {
        Kind = kind;
        Buffer = buffer;
        Int = i;
        Float = f;
    }

    /// <summary>Which field carries the value.</summary>
    public KernelArgKind Kind { get; }

    /// <summary>The buffer (a storage of the launching backend).</summary>
    public Storage? Buffer { get; }

    /// <summary>The int value.</summary>
    public int Int { get; }

    /// <summary>The float value.</summary>
    public float Float { get; }

    /// <summary>A buffer argument (<c>GLOBAL float*</c> / <c>GLOBAL int*</c>).</summary>
    public static KernelArg Of(Storage buffer) => new(KernelArgKind.Buffer, buffer, 0, 0);

    /// <summary>An <c>int</c> argument.</summary>
    public static implicit operator KernelArg(int value) => new(KernelArgKind.Int, null, value, 0);

    /// <summary>A <c>float</c> argument.</summary>
    public static implicit operator KernelArg(float value) => new(KernelArgKind.Float, null, 0, value);

    /// <summary>A buffer argument.</summary>
    public static implicit operator KernelArg(Storage buffer) => Of(buffer);
}

/// <summary>The kinds of <see cref="KernelArg"/>.</summary>
public enum KernelArgKind
{
    /// <summary>Device buffer.</summary>
    Buffer,
    /// <summary>32-bit int.</summary>
    Int,
    /// <summary>32-bit float.</summary>
    Float,
}
