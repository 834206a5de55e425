using SerEngine.Backends;

namespace SerEngine.IO;

/// <summary>
/// A tensor's values in host memory, as files carry them: Float32 data in <see cref="Floats"/> or
/// integer data in <see cref="Ints"/> (I64 files are read into Int32 with a range check).
/// </summary>
public sealed class HostTensor
{
    /// <summary>A Float32 host tensor.</summary>
    public HostTensor(Shape shape, float[] floats)
    {
        if (floats.Length != shape.Size) throw new ArgumentException($"{floats.Length} values for shape {shape}");
        Shape = shape;
        Floats = floats;
    }

    /// <summary>An Int32 host tensor.</summary>
    public HostTensor(Shape shape, int[] ints)
    {
        if (ints.Length != shape.Size) throw new ArgumentException($"{ints.Length} values for shape {shape}");
        Shape = shape;
        Ints = ints;
    }

    /// <summary>Dimensions.</summary>
    public Shape Shape { get; }

    /// <summary>Element type.</summary>
    public DType DType => Floats is null ? DType.Int32 : DType.Float32;

    /// <summary>Float values, or null for integer tensors.</summary>
    public float[]? Floats { get; }

    /// <summary>Integer values, or null for float tensors.</summary>
    public int[]? Ints { get; }

    /// <summary>Copies the values onto a backend.</summary>
    public Tensor ToTensor(Backend? backend = null) =>
        Floats is not null ? Tensor.FromArray(Floats, Shape, backend) : Tensor.FromArray(Ints!, Shape, backend);

    /// <summary>Copies a tensor's values to the host.</summary>
    public static HostTensor FromTensor(Tensor t) =>
        t.DType == DType.Float32 ? new HostTensor(t.Shape, t.ToArray()) : new HostTensor(t.Shape, t.ToInt32Array());
}
