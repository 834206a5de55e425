using SerEngine.Backends;
using SerEngine.Nn;

namespace SerEngine.Models.Attention;

/// <summary>
/// AttentionFcn's attention pooling (MODELS.md, A): over positions a [N, L, D],
/// e_l = λ·uᵀ tanh(W a_l + b), α = softmax over valid positions, c = Σ_l α_l a_l.
/// Parameters <c>proj.weight [D, D]</c>, <c>proj.bias [D]</c>, <c>context.weight [1, D]</c>.
/// λ is a fixed setting, folded into the fused softmax as its scale.
/// </summary>
public sealed class AttentionPool : Module
{
    /// <summary>Creates the pooling for <paramref name="dim"/> features.</summary>
    public AttentionPool(int dim, float lambda, Generator rng, Backend? backend = null)
    {
        Lambda = lambda;
        Proj = RegisterModule("proj", new Linear(dim, dim, rng, bias: true, backend));
        Context = RegisterModule("context", new Linear(dim, 1, rng, bias: false, backend));
    }

    /// <summary>λ, the scale on the attention energies.</summary>
    public float Lambda { get; }

    /// <summary>W, b.</summary>
    public Linear Proj { get; }

    /// <summary>u.</summary>
    public Linear Context { get; }

    /// <summary>
    /// Pools a [N, L, D] into c [N, D]; returns the weights α [N, L] too. keyMask (Int32 [N, L],
    /// 1 = valid) gives padded positions exactly zero weight.
    /// </summary>
    public (Tensor Context, Tensor Alpha) Forward(Tensor a, Tensor? keyMask = null)
    {
        if (a.Rank != 3) throw new ArgumentException($"attention pool expects a [N, L, D], got {a.Shape}");
        int n = a.Shape[0], l = a.Shape[1], d = a.Shape[2];
        var energy = Context.Forward(Proj.Forward(a).Tanh()).Reshape(n, l);  // [N, L], before λ
        var alpha = Ops.BiasedSoftmax(energy, null, keyMask, Lambda);        // [N, L]
        var c = alpha.Reshape(n, 1, l).MatMul(a).Reshape(n, d);              // [N, 1, L]·[N, L, D] → [N, D]
        return (c, alpha);
    }
}
