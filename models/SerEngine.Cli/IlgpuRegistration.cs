using SerEngine.Backends;

namespace SerEngine.Cli;

/// <summary>
/// Registers the ILGPU backends (<c>ilgpu</c>, <c>ilgpu-cpu</c>) at start-up. The managed <c>ser</c>
/// references SerEngine.Ilgpu (SER_ILGPU); the NativeAOT build leaves it out (ILGPU compiles kernels
/// from .NET IL at run time, which NativeAOT cannot give it) and registers both names with a factory
/// that says so in one line, so <c>--backend ilgpu</c> fails cleanly and <c>ser devices</c> lists why.
/// </summary>
internal static class IlgpuRegistration
{
    /// <summary>The one line the native <c>ser</c> answers for an ILGPU backend.</summary>
    internal const string NotInThisBuild =
        "this ser has no ILGPU backend: the NativeAOT build leaves ILGPU out (it compiles kernels from .NET IL at run time); use the managed ser (dotnet ser.dll)";

    /// <summary>Registers <c>ilgpu</c> and <c>ilgpu-cpu</c> (the real ones, or the one-line refusals).</summary>
    public static void Register()
    {
#if SER_ILGPU
        Ilgpu.IlgpuBackends.Register();
        Bench.DeviceSync.Register(b => b is Ilgpu.IlgpuBackend i ? i.Synchronize : null); // ser bench waits for ILGPU's queue
#else
        BackendRegistry.Register("ilgpu", () => throw new BackendUnavailableException(NotInThisBuild));
        BackendRegistry.Register("ilgpu-cpu", () => throw new BackendUnavailableException(NotInThisBuild));
#endif
    }

    /// <summary>The ILGPU part of <c>ser devices</c>.</summary>
    public static string ListDevices() =>
#if SER_ILGPU
        Ilgpu.IlgpuBackends.ListDevices();
#else
        "ILGPU devices: none in this build (NativeAOT ser; the managed ser has ilgpu and ilgpu-cpu)\n";
#endif
}
