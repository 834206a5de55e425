namespace SerEngine.Backends.Gpu;

/// <summary>
/// Counters of the commands a GPU backend has queued since it was created (<see cref="GpuBackend.CommandStats"/>):
/// what a step costs in driver round trips, beside the memory pool's <see cref="GpuPoolStats"/>.
/// </summary>
/// <param name="KernelLaunches">Kernel launches (<c>clEnqueueNDRangeKernel</c>, <c>cuLaunchKernel</c>); a grid cut into y/z slices counts each slice.</param>
/// <param name="MemoryCommands">Device-side copies and fills queued as driver commands, not kernels (<c>clEnqueueCopyBuffer</c>, <c>cuMemcpyDtoD</c>, <c>cuMemsetD32</c>).</param>
/// <param name="Uploads">Host-to-device writes.</param>
/// <param name="UploadBytes">Bytes written host to device.</param>
/// <param name="Downloads">Device-to-host reads (each waits for the queue).</param>
/// <param name="DownloadBytes">Bytes read device to host.</param>
public readonly record struct GpuCommandStats(long KernelLaunches, long MemoryCommands, long Uploads, long UploadBytes, long Downloads, long DownloadBytes)
{
    /// <summary>The commands queued between <paramref name="before"/> and <paramref name="after"/>.</summary>
    public static GpuCommandStats operator -(GpuCommandStats after, GpuCommandStats before) => new(
        after.KernelLaunches - before.KernelLaunches, after.MemoryCommands - before.MemoryCommands,
        after.Uploads - before.Uploads, after.UploadBytes - before.UploadBytes,
        after.Downloads - before.Downloads, after.DownloadBytes - before.DownloadBytes);

    /// <summary>Same as the <c>-</c> operator.</summary>
    public static GpuCommandStats Subtract(GpuCommandStats after, GpuCommandStats before) => after - before;
}
