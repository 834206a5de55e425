namespace SerEngine.Optim;

/// <summary>Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_.</summary>
public static class GradClip
{
    /// <summary>
    /// Scales every gradient of <paramref name="parameters"/> by min(1, max / (‖g‖ + 1e-6)), ‖g‖ the L2
    /// norm of all of them together; returns ‖g‖ before clipping.
    /// </summary>
    public static double ClipGlobalNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), $"the largest gradient norm must be positive, got {maxNorm}");
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().Select(g => (Tensor: g, Values: g.ToArray())).ToList();
        double sum = 0;
        foreach (var (_, values) in grads)
            foreach (float v in values) sum += (double)v * v;
        double norm = Math.Sqrt(sum);
        double coef = maxNorm / (norm + 1e-6);
        if (coef >= 1) return norm;
        foreach (var (tensor, values) in grads)
        {
            for (int i = 0; i < values.Length; i++) values[i] = (float)(values[i] * coef);
            tensor.CopyFrom(values);
        }
        return norm;
    }
}
