using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SerEngine.IO.Torch;

/// <summary>
/// Copies a tensor view (storage offset, sizes, strides, all in elements) out of its storage's raw
/// little-endian bytes into a contiguous <see cref="HostTensor"/>, element by element in logical
/// (row-major) order. Floating-point storages become Float32; integer and bool storages Int32.
/// </summary>
internal static class TorchTensorRebuild
{
    /// <summary>
    /// Refuses, before its storage is read or any element copied, a view that <paramref name="limits"/>
    /// do not allow (expected shape, element cap) or one with more elements than its storage holds.
    /// </summary>
    public static void Check(TensorRef t, string name, string source, TensorLimits limits)
    {
        var shape = Array.ConvertAll(t.Size, d => (long)d);
        string where = $"{source}: tensor '{TorchGlobals.Printable(name)}'";
        string view = $"strides {TensorLimits.Format(t.Stride)} over storage '{t.Storage.Key}' of {t.Storage.Numel} elements";
        if (limits.Check(name, shape) is { } problem)
            throw new TorchCheckpointFormatException($"{where}: {problem} ({view})");
        long count = shape.Aggregate(1L, (a, d) => checked(a * d)); // at most the cap: Check passed
        // rule: a view may not have more elements than its storage. Only repeated elements (a stride 0 on a
        // dim > 1, as expand() makes, or overlapping strides) give more, no saved parameter has them, and
        // copying them out would turn a few bytes of file into gigabytes
        if (count > t.Storage.Numel)
            throw new TorchCheckpointFormatException(
                $"{where}: shape {TensorLimits.Format(shape)} has {count} elements but {view}: a view that repeats storage elements (stride 0 or overlapping strides) is not a parameter");
    }

    /// <summary>The tensor <paramref name="t"/> over <paramref name="storage"/>, whose length and view are already checked (<see cref="Check"/>).</summary>
    public static HostTensor Materialize(TensorRef t, byte[] storage, string name, string source)
    {
        var shape = new Shape(t.Size);
        int count = shape.Size;
        var type = t.Storage.Type;
        bool isFloat = type.Scalar is TorchScalar.Float32 or TorchScalar.Float64 or TorchScalar.Float16 or TorchScalar.BFloat16;
        if (isFloat)
        {
            var dst = new float[count];
            if (type.Scalar == TorchScalar.Float32 && IsContiguous(t) && BitConverter.IsLittleEndian)
                MemoryMarshal.Cast<byte, float>(storage.AsSpan(checked((int)(t.Offset * 4)), count * 4)).CopyTo(dst);
            else
                Walk(t, count, (i, e) => dst[i] = ReadFloat(storage, type.Scalar, e));
            return new HostTensor(shape, dst);
        }
        var ints = new int[count];
        Walk(t, count, (i, e) =>
        {
            long v = ReadInt(storage, type.Scalar, e);
            if (v is < int.MinValue or > int.MaxValue)
                throw new TorchCheckpointFormatException($"{source}: tensor '{TorchGlobals.Printable(name)}': int64 value {v} at index {i} does not fit in Int32");
            ints[i] = (int)v;
        });
        return new HostTensor(shape, ints);
    }

    private static bool IsContiguous(TensorRef t)
    {
        long expected = 1;
        for (int d = t.Size.Length - 1; d >= 0; d--)
        {
            if (t.Size[d] != 1 && t.Stride[d] != expected) return false;
            expected *= t.Size[d];
        }
        return true;
    }

    /// <summary>Calls <paramref name="visit"/>(logical index, storage element) for every element in row-major order.</summary>
    private static void Walk(TensorRef t, int count, Action<int, long> visit)
    {
        int rank = t.Size.Length;
        var index = new int[rank];
        long e = t.Offset;
        for (int i = 0; i < count; i++)
        {
            visit(i, e);
            for (int d = rank - 1; d >= 0; d--) // odometer: advance the last dim, carry into the ones before
            {
                if (++index[d] < t.Size[d]) { e += t.Stride[d]; break; }
                e -= (long)(t.Size[d] - 1) * t.Stride[d];
                index[d] = 0;
            }
        }
    }

    private static float ReadFloat(byte[] s, TorchScalar scalar, long e) => scalar switch
    {
        TorchScalar.Float32 => BinaryPrimitives.ReadSingleLittleEndian(s.AsSpan((int)(e * 4))),
        TorchScalar.Float64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(s.AsSpan((int)(e * 8))),
        TorchScalar.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(s.AsSpan((int)(e * 2))),
        _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(s.AsSpan((int)(e * 2))) << 16), // BFloat16
    };

    private static long ReadInt(byte[] s, TorchScalar scalar, long e) => scalar switch
    {
        TorchScalar.Int64 => BinaryPrimitives.ReadInt64LittleEndian(s.AsSpan((int)(e * 8))),
        TorchScalar.Int32 => BinaryPrimitives.ReadInt32LittleEndian(s.AsSpan((int)(e * 4))),
        TorchScalar.Int16 => BinaryPrimitives.ReadInt16LittleEndian(s.AsSpan((int)(e * 2))),
        TorchScalar.Int8 => (sbyte)s[e],
        TorchScalar.Bool => s[e] != 0 ? 1 : 0,
        _ => s[e], // UInt8
    };
}
