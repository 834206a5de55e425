using SerEngine.Backends;
using SerEngine.Models.Attention;
using SerEngine.Nn;

namespace SerEngine.Tests.Gpu;

/// <summary>Finite-difference gradient checks of small networks run end to end on a GPU backend.</summary>
public class NetworkGradCheckTests(ITestOutputHelper output)
{
    public static TheoryData<string> Devices => new() { "opencl", "cuda", "ilgpu-cpu", "cpu-reference" };

    private static Backend? Device(string name, ITestOutputHelper output) => name switch
    {
        "opencl" => GpuTestDevices.OpenCl(output),
        "cuda" => GpuTestDevices.Cuda(output),
        _ => BackendRegistry.Get(name), // the same checks on the oracle, so a failure points at the kernels
    };

    [Theory]
    [MemberData(nameof(Devices))]
    public void ConvBatchNormPoolLinearCrossEntropy(string device)
    {
        if (Device(device, output) is not { } be) return;
        var rng = new Generator(31);
        var conv = new Conv2d(1, 2, (3, 3), rng, padding: (1, 1), backend: be);
        var bn = new BatchNorm2d(2, backend: be);
        var fc = new Linear(2 * 2 * 3, 3, rng, backend: be);
        var x = GradCheck.Param(be, rng, 2, 1, 5, 7);
        var labels = Tensor.FromArray([2, 0], new Shape(2), be);
        Tensor Net(Tensor input)
        {
            var h = Ops.MaxPool2d(bn.Forward(conv.Forward(input)).Relu(), (2, 2)); // [2, 2, 2, 3]
            return Ops.CrossEntropy(fc.Forward(Ops.Flatten(h, 1)), labels);
        }
        Tensor[] all = [x, conv.Weight, conv.Bias!, bn.Weight, bn.Bias, fc.Weight, fc.Bias!];
        GradCheck.Check(_ => Net(x), all, eps: 1e-3, rtol: 2e-2);
        Assert.Equal(be.Name, conv.Weight.Grad!.Backend.Name);
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void FocusCalibrationAttention(string device)
    {
        if (Device(device, output) is not { } be) return;
        var rng = new Generator(32);
        var attn = new FocusCalibrationAttention(6, 2, 3, focus: true, calibration: true, dropout: 0f, rng, be);
        var x = GradCheck.Param(be, rng, 2, 5, 6);
        GradCheck.Check(_ => attn.Forward(x).Y, [x, .. attn.Parameters()], eps: 5e-3, rtol: 2e-2);
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void AttentionPoolWithMask(string device)
    {
        if (Device(device, output) is not { } be) return;
        var rng = new Generator(33);
        var pool = new AttentionPool(4, 0.3f, rng, be);
        var a = GradCheck.Param(be, rng, 2, 5, 4);
        var mask = Tensor.FromArray([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], new Shape(2, 5), be);
        GradCheck.Check(_ => pool.Forward(a, mask).Context, [a, .. pool.Parameters()], eps: 5e-3, rtol: 2e-2);
    }
}
