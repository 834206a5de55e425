using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Models.Training;

/// <summary>Writes the values of a batch tensor in place (the span starts zeroed).</summary>
/// <param name="values">The tensor's values in row-major order.</param>
internal delegate void BatchFill(Span<float> values);

/// <summary>
/// Network inputs assembled on the host: a zeroed tensor from the backend's pool, filled in place on
/// the cpu backend, through one host array and a copy elsewhere.
/// </summary>
internal static class BatchTensor
{
    /// <summary>
    /// A float tensor of <paramref name="shape"/> whose values <paramref name="fill"/> writes into zeros.
    /// On the cpu backend the pooled storage is written directly: a fresh batch-sized array per step cost
    /// page faults and large-object collections.
    /// </summary>
    public static Tensor Filled(Shape shape, Backend backend, BatchFill fill)
    {
        var t = Tensor.Zeros(shape, backend);
        if (t.Storage is CpuStorage cpu)
        {
            fill(cpu.F.AsSpan(0, shape.Size));
            return t;
        }
        var host = new float[shape.Size];
        fill(host);
        t.Backend.Write(t.Storage, host);
        return t;
    }
}
