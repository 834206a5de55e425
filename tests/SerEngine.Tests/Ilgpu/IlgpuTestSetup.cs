using System.Runtime.CompilerServices;
using SerEngine.Ilgpu;

namespace SerEngine.Tests.Ilgpu;

/// <summary>Registers <c>ilgpu</c> and <c>ilgpu-cpu</c> before any test runs (the core engine knows only its own backends).</summary>
internal static class IlgpuTestSetup
{
    [ModuleInitializer]
    internal static void Register() => IlgpuBackends.Register();
}
