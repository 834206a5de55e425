using System.Text;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using SerEngine.Backends;

namespace SerEngine.Ilgpu;

/// <summary>
/// Registers the ILGPU backends with <see cref="BackendRegistry"/>: <c>ilgpu</c> (the best ILGPU
/// accelerator present: CUDA, then OpenCL, then ILGPU's CPU accelerator) and <c>ilgpu-cpu</c> (the CPU
/// accelerator, always available). Registration only stores factories: ILGPU starts when a backend is
/// first asked for. The core engine does not reference ILGPU; an application (the managed <c>ser</c>,
/// the tests) calls <see cref="Register"/> once at start-up.
/// </summary>
public static class IlgpuBackends
{
    /// <summary>Registers <c>ilgpu</c> and <c>ilgpu-cpu</c> (idempotent).</summary>
    public static void Register()
    {
        BackendRegistry.Register("ilgpu", IlgpuBackend.CreateBest);
        BackendRegistry.Register("ilgpu-cpu", IlgpuBackend.CreateCpu);
    }

    /// <summary>Every accelerator ILGPU sees on this machine (CUDA, OpenCL, CPU), or why it sees none: for <c>ser devices</c>.</summary>
    public static string ListDevices()
    {
        var sb = new StringBuilder("ILGPU devices (ilgpu takes the first CUDA, else OpenCL, else CPU):\n");
        try
        {
            using var context = Context.Create(b => b.Cuda().OpenCL().CPU(CPUDevice.Default));
            foreach (var d in context.Devices)
                sb.Append("  ").Append(d.AcceleratorType).Append(": ").Append(d.Name).Append('\n');
            if (!context.Devices.Any(d => d.AcceleratorType == AcceleratorType.Cuda)) sb.Append("  no CUDA device seen by ILGPU\n");
            if (!context.Devices.Any(d => d.AcceleratorType == AcceleratorType.OpenCL))
                sb.Append("  no OpenCL device ILGPU accepts (it needs OpenCL 2.0 generic address space or 3.0 with it; PoCL's CPU device lacks it)\n");
        }
#pragma warning disable CA1031 // listing devices never fails the command: the reason is printed
        catch (Exception e)
#pragma warning restore CA1031
        {
            sb.Append("  none: ").Append(e.Message.ReplaceLineEndings(" ")).Append('\n');
        }
        return sb.ToString();
    }
}
