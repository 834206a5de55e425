namespace SerEngine.Backends.Cpu;

/// <summary>
/// Per-thread workspaces of the CPU kernels, kept from call to call. A block allocated per call
/// (NativeMemory or a new array) comes from fresh pages above malloc's mmap threshold, and the first
/// touch of each page faults: on a VM the faults of one call can cost more than a small convolution
/// (AUDIO-GEMM-CPU-2026-12-06.md measured them). Each call site owns its slot (a [ThreadStatic] field), so two live
/// workspaces never share one; a task running on a pool thread uses that thread's slot.
/// </summary>
internal static unsafe class CpuScratch
{
    /// <summary>
    /// The first 64-byte-aligned address of <paramref name="slot"/>'s pinned array, replaced by a larger one
    /// (a quarter to spare) when it holds fewer than <paramref name="floats"/> after alignment. Contents are undefined.
    /// </summary>
    public static float* Floats(ref float[]? slot, long floats)
    {
        if (slot is null || slot.Length < floats + 16)
            slot = GC.AllocateUninitializedArray<float>(checked((int)(floats + floats / 4 + 16)), pinned: true);
        return (float*)CpuBackend.Align64(slot);
    }
}
