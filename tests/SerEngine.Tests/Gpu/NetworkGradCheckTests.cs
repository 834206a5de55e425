using SerEngine.Backends;
using SerEngine.Models.Attention;
using SerEngine.Nn;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// Finite-difference gradient checks of small networks run end to end on a GPU backend. On ILGPU's CPU
/// accelerator, where every simulated thread is an OS thread and one forward pass of these networks takes
/// about a second, the finite differences cover a sample of each tensor's elements and every element of
/// the analytic gradient is compared with cpu-reference's (whose own check covers every element).
/// </summary>
public class NetworkGradCheckTests(ITestOutputHelper output)
{
    public static TheoryData<string> Devices => new() { "opencl", "cuda", "ilgpu-cpu", "ilgpu", "cpu-reference" };

    private static Backend? Device(string name, ITestOutputHelper output) => name switch
    {
        "opencl" => GpuTestDevices.OpenCl(output),
        "cuda" => GpuTestDevices.Cuda(output),
        "ilgpu" => GpuTestDevices.IlgpuGpu(output),
        _ => BackendRegistry.Get(name), // the same checks on the oracle, so a failure points at the kernels
    };

    /// <summary>Finite differences per input tensor: all elements, or 4 on the slow simulated device.</summary>
    private static int Sample(Backend be) => be.Name == "ilgpu-cpu" ? 4 : 0;

    /// <summary>The finite-difference check, plus (when it is sampled) every analytic element against cpu-reference.</summary>
    private static void Check(Backend be, Func<Backend, (Func<Tensor> Y, Tensor[] Inputs)> build, double eps, double rtol)
    {
        var (y, inputs) = build(be);
        GradCheck.Check(_ => y(), inputs, eps: eps, rtol: rtol, sample: Sample(be));
        Assert.All(inputs, t => Assert.Equal(be.Name, t.Grad!.Backend.Name)); // gradients stay on the device
        if (Sample(be) > 0)
        {
            GradCheck.SameGradients(b =>
            {
                var (f, xs) = build(b);
                return (f(), xs);
            }, be, BackendRegistry.Get("cpu-reference"));
        }
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void ConvBatchNormPoolLinearCrossEntropy(string device)
    {
        if (Device(device, output) is not { } be) return;
        Check(be, b =>
        {
            var rng = new Generator(31);
            var conv = new Conv2d(1, 2, (3, 3), rng, padding: (1, 1), backend: b);
            var bn = new BatchNorm2d(2, backend: b);
            var fc = new Linear(2 * 2 * 3, 3, rng, backend: b);
            var x = GradCheck.Param(b, rng, 2, 1, 5, 7);
            var labels = Tensor.FromArray([2, 0], new Shape(2), b);
            Tensor Net()
            {
                var h = Ops.MaxPool2d(bn.Forward(conv.Forward(x)).Relu(), (2, 2)); // [2, 2, 2, 3]
                return Ops.CrossEntropy(fc.Forward(Ops.Flatten(h, 1)), labels);
            }
            return (Net, [x, conv.Weight, conv.Bias!, bn.Weight, bn.Bias, fc.Weight, fc.Bias!]);
        }, eps: 1e-3, rtol: 2e-2);
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void FocusCalibrationAttention(string device)
    {
        if (Device(device, output) is not { } be) return;
        Check(be, b =>
        {
            var rng = new Generator(32);
            var attn = new FocusCalibrationAttention(6, 2, 3, focus: true, calibration: true, dropout: 0f, rng, b);
            var x = GradCheck.Param(b, rng, 2, 5, 6);
            return (() => attn.Forward(x).Y, [x, .. attn.Parameters()]);
        }, eps: 5e-3, rtol: 2e-2);
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void AttentionPoolWithMask(string device)
    {
        if (Device(device, output) is not { } be) return;
        Check(be, b =>
        {
            var rng = new Generator(33);
            var pool = new AttentionPool(4, 0.3f, rng, b);
            var a = GradCheck.Param(b, rng, 2, 5, 4);
            var mask = Tensor.FromArray([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], new Shape(2, 5), b);
            return (() => pool.Forward(a, mask).Context, [a, .. pool.Parameters()]);
        }, eps: 5e-3, rtol: 2e-2);
    }
}
