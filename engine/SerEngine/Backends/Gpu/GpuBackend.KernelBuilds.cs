namespace SerEngine.Backends.Gpu;

// Every build of a kernel file that the launch code asks for, listed in one place so that checks
// without a device (clang's CUDA front end in CI) compile exactly what a GPU would.
public abstract partial class GpuBackend
{
    /// <summary>
    /// Each kernel file with the option string its launches pass (one per file: every variant of a
    /// file shares it), on a backend whose <see cref="GroupSize"/> is <paramref name="groupSize"/>.
    /// A launch with a new option string must add its build here (CudaPtxCheckTests compiles these).
    /// </summary>
    internal static IReadOnlyList<(string File, string Options)> KernelBuilds(int groupSize) =>
    [
        (AttentionFile, AttentionOptions),
        ("batchnorm2d.cl", NormOptionsFor(groupSize)),
        ("conv2d.cl", ConvOptions),
        (ElementwiseFile, ""),
        (FocusBiasFile, ""),
        ("gemm.cl", GemmOptions),
        (LossFile, ""),
        ("maxpool2d.cl", ""),
        ("memory.cl", ""),
        (OptimFile, ""),
        (PermuteFile, ""),
        (ReduceFile, ""),
        (SoftmaxFile, ""),
        (SpectrogramFile, SpectrogramOptions),
    ];
}
