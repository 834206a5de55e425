using SerEngine.Backends;
using SerEngine.Backends.Cuda;
using SerEngine.Backends.OpenCl;

namespace SerEngine.Bench;

/// <summary>How a measurement waits for a backend's queued work.</summary>
public static class DeviceSync
{
    /// <summary>
    /// The wait for <paramref name="backend"/>'s queued work: OpenCL and CUDA synchronise their queue
    /// (a profiled backend: its inner one's); null for the CPU backends, whose calls return when done.
    /// </summary>
    public static Action? For(Backend backend) => backend switch
    {
        OpenClBackend cl => cl.Synchronize,
        CudaBackend cu => cu.Synchronize,
        ProfilingBackend p => For(p.Inner),
        _ => null,
    };

    /// <summary>Waits until the work queued on <paramref name="backend"/> has finished (a no-op on the CPU backends).</summary>
    public static void Synchronize(Backend backend) => For(backend)?.Invoke();
}
