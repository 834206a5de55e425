namespace SerEngine.Backends.Cpu;

/// <summary>
/// Host memory for the CPU backends: the first <see cref="Storage.Length"/> elements of a managed array
/// of floats or ints. The array may be longer (the buffer pool hands out size classes); the elements past
/// Length belong to no one: kernels index by the storage's length and shapes, never by the array's.
/// </summary>
public sealed class CpuStorage : Storage
{
    /// <summary>Wraps <paramref name="data"/> (a float[] or int[] of at least <paramref name="length"/> elements, matching <paramref name="dtype"/>).</summary>
    internal CpuStorage(Backend backend, DType dtype, int length, Array data) : base(backend, dtype, length)
    {
        if (data.Length < length) throw new ArgumentException($"a {length}-element storage needs an array of at least {length}, got {data.Length}");
        if (dtype == DType.Float32) F = (float[])data;
        else I = (int[])data;
    }

    /// <summary>Float data (Float32 storages): the array, whose first <see cref="Storage.Length"/> elements are the storage's.</summary>
    public float[] F { get => field ?? throw new InvalidOperationException($"expected a Float32 buffer, found {DType}"); private set; } = null!;

    /// <summary>Int data (Int32 storages): the array, whose first <see cref="Storage.Length"/> elements are the storage's.</summary>
    public int[] I { get => field ?? throw new InvalidOperationException($"expected an Int32 buffer, found {DType}"); private set; } = null!;

    /// <summary>The array behind this storage, whichever its type.</summary>
    internal Array Data => DType == DType.Float32 ? F : I;
}
