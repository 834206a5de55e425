using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

/// <summary>What the conv2d kernels apply in their store: + bias, then ReLU when asked.</summary>
internal static class Conv2dEpilogue
{
    /// <summary>x + b, then ReLU when <paramref name="relu"/> (NaN gives 0, as the reference's ReLU).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> BiasRelu(Vector256<float> x, Vector256<float> b, bool relu)
    {
        var y = x + b;
        return relu ? Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<float>.Zero), y, Vector256<float>.Zero) : y;
    }

    /// <summary>
    /// x + b, then ReLU when <paramref name="relu"/> (NaN gives 0): the scalar twin of the vector form.
    /// Without a data-dependent branch (maxss returns its second operand, 0, unless y &gt; 0): a branch on the
    /// sign of each output is mispredicted half the time on real data, which cost more than the multiplies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BiasRelu(float x, float b, bool relu)
    {
        float y = x + b;
        if (!relu) return y;
        return Sse.IsSupported ? Sse.MaxScalar(Vector128.CreateScalarUnsafe(y), Vector128<float>.Zero).ToScalar() : y > 0f ? y : 0f;
    }
}
