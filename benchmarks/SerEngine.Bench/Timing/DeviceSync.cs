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
        _ => Resolve(backend),
    };

    private static readonly List<Func<Backend, Action?>> Resolvers = [];

    /// <summary>
    /// Adds the wait of a backend this project does not reference (the ILGPU backend, registered by the
    /// application that references it): <paramref name="resolver"/> returns the wait, or null for other backends.
    /// </summary>
    public static void Register(Func<Backend, Action?> resolver)
    {
        lock (Resolvers) Resolvers.Add(resolver);
    }

    private static Action? Resolve(Backend backend)
    {
        lock (Resolvers)
            foreach (var r in Resolvers)
                if (r(backend) is { } wait) return wait;
        return null;
    }

    /// <summary>Waits until the work queued on <paramref name="backend"/> has finished (a no-op on the CPU backends).</summary>
    public static void Synchronize(Backend backend) => For(backend)?.Invoke();
}
