using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

/// <summary>The instruction sets conv2d routing asks about (tests pin them, so a routing table holds on any machine).</summary>
/// <param name="Simd256">256-bit vectors are hardware accelerated.</param>
/// <param name="Fma">x86 fused multiply-add (FMA3).</param>
/// <param name="Avx2">x86 AVX2 (the Winograd transforms' shuffles and permutes).</param>
internal readonly record struct Conv2dIsa(bool Simd256, bool Fma, bool Avx2)
{
    /// <summary>This machine's.</summary>
    public static Conv2dIsa Host => new(Vector256.IsHardwareAccelerated, System.Runtime.Intrinsics.X86.Fma.IsSupported, System.Runtime.Intrinsics.X86.Avx2.IsSupported);

    /// <summary>An x86-64 CPU with AVX2 and FMA (AVX-512 changes no conv2d route).</summary>
    public static Conv2dIsa Avx2Fma => new(true, true, true);
}
