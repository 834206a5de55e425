namespace SerEngine.Backends.Cpu;

// TODO(stub): BatchNorm2d reference loops.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void BatchNorm2dForward(Storage x, Storage? weight, Storage? bias, Storage y, Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar, int n, int c, int hw, float eps, float momentum, bool training) => throw new NotImplementedException("BatchNorm2d on cpu-reference");

    /// <inheritdoc/>
    public override void BatchNorm2dBackward(Storage dy, Storage x, Storage? weight, Storage mean, Storage invStd, Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training) => throw new NotImplementedException("BatchNorm2d on cpu-reference");

}
