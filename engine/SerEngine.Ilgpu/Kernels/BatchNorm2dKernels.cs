using ILGPU;
using ILGPU.Algorithms;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>Batch-norm sizes and switches: x [N, C, HW]; the has* flags say which optional buffers are real.</summary>
internal readonly record struct NormArgs(int N, int C, int HW, float Eps, float Momentum, int HasWeight, int HasBias, int HasRunning, int Training);

/// <summary>A batch-norm column mask: rows of W columns (HW = H·W), item n valid in the columns w &lt; valid[n]; Count = H·Σvalid kept values per channel.</summary>
internal readonly record struct NormMask(int W, int Count);

/// <summary>
/// Batch normalisation over x [N, C, HW], the twin of kernels/batchnorm2d.cl (batchnorm2d_stats,
/// batchnorm2d_eval_stats, batchnorm2d_apply, batchnorm2d_bwd_reduce, batchnorm2d_bwd_dx). Per channel c,
/// over count = N·HW values: x̂ = (x − mean)·invStd, y = x̂·weight + bias. The reductions are one group
/// per channel (grid x = C) with two-pass group sums; the element kernels are grid-stride. The *Masked
/// kernels (the *_masked twins) skip the padded positions in the sums and write 0 there.
/// </summary>
internal static class BatchNorm2dKernels
{
    /// <summary>batchnorm2d_stats (training): mean, invStd = 1/√(biased var + eps); running stats move by momentum (unbiased var).</summary>
    public static void Stats(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd,
        ArrayView<float> runningMean, ArrayView<float> runningVar, NormArgs a)
    {
        int c = Grid.IdxX, t = Group.IdxX, count = a.N * a.HW;
        float s = 0f;
        for (int e = t; e < count; e += Group.DimX)
        {
            int n = e / a.HW;
            s += x[(n * a.C + c) * a.HW + (e - n * a.HW)];
        }
        float m = GroupReduce.Sum(s) / count;
        float ss = 0f;
        for (int e = t; e < count; e += Group.DimX)
        {
            int n = e / a.HW;
            float d = x[(n * a.C + c) * a.HW + (e - n * a.HW)] - m;
            ss += d * d;
        }
        float sumSq = GroupReduce.Sum(ss);
        if (t != 0) return;
        mean[c] = m;
        invStd[c] = 1f / XMath.Sqrt(sumSq / count + a.Eps);
        if (a.HasRunning != 0)
        {
            runningMean[c] = (1f - a.Momentum) * runningMean[c] + a.Momentum * m;
            runningVar[c] = (1f - a.Momentum) * runningVar[c] + a.Momentum * (sumSq / (count - 1));
        }
    }

    /// <summary>batchnorm2d_eval_stats: mean = runningMean, invStd = 1/√(runningVar + eps).</summary>
    public static void EvalStats(ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> mean, ArrayView<float> invStd, int c, float eps)
    {
        for (int i = Grid.GlobalIndex.X; i < c; i += Grid.DimX * Group.DimX)
        {
            mean[i] = runningMean[i];
            invStd[i] = 1f / XMath.Sqrt(runningVar[i] + eps);
        }
    }

    /// <summary>batchnorm2d_apply: y = (x − mean)·invStd·weight + bias.</summary>
    public static void Apply(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> y, NormArgs a)
    {
        int total = a.N * a.C * a.HW;
        for (int at = Grid.GlobalIndex.X; at < total; at += Grid.DimX * Group.DimX)
        {
            int c = at / a.HW % a.C;
            float scale = invStd[c] * (a.HasWeight != 0 ? weight[c] : 1f);
            y[at] = (x[at] - mean[c]) * scale + (a.HasBias != 0 ? bias[c] : 0f);
        }
    }

    /// <summary>batchnorm2d_bwd_reduce: Σdy and Σdy·x̂ per channel into sums [2, C], and into dBias / dWeight when asked (HasBias / HasWeight).</summary>
    public static void BackwardReduce(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd,
        ArrayView<float> sums, ArrayView<float> dWeight, ArrayView<float> dBias, NormArgs a)
    {
        int c = Grid.IdxX, t = Group.IdxX, count = a.N * a.HW;
        float m = mean[c], istd = invStd[c];
        float sdy = 0f, sdyx = 0f;
        for (int e = t; e < count; e += Group.DimX)
        {
            int n = e / a.HW, at = (n * a.C + c) * a.HW + (e - n * a.HW);
            float g = dy[at];
            sdy += g;
            sdyx += g * (x[at] - m) * istd;
        }
        sdy = GroupReduce.Sum(sdy);
        sdyx = GroupReduce.Sum(sdyx);
        if (t != 0) return;
        sums[c] = sdy;
        sums[a.C + c] = sdyx;
        if (a.HasBias != 0) dBias[c] = sdy;
        if (a.HasWeight != 0) dWeight[c] = sdyx;
    }

    /// <summary>batchnorm2d_bwd_dx: training dx = weight·invStd·(dy − Σdy/count − x̂·Σdy·x̂/count); eval dx = weight·invStd·dy.</summary>
    public static void BackwardDx(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> mean,
        ArrayView<float> invStd, ArrayView<float> sums, ArrayView<float> dx, NormArgs a)
    {
        int total = a.N * a.C * a.HW, count = a.N * a.HW;
        for (int at = Grid.GlobalIndex.X; at < total; at += Grid.DimX * Group.DimX)
        {
            int c = at / a.HW % a.C;
            float scale = invStd[c] * (a.HasWeight != 0 ? weight[c] : 1f);
            if (a.Training != 0)
            {
                float xhat = (x[at] - mean[c]) * invStd[c];
                dx[at] = scale * (dy[at] - sums[c] / count - xhat * sums[a.C + c] / count);
            }
            else
            {
                dx[at] = scale * dy[at];
            }
        }
    }

    /// <summary>batchnorm2d_stats_masked: <see cref="Stats"/> over the kept positions only.</summary>
    public static void StatsMasked(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd,
        ArrayView<float> runningMean, ArrayView<float> runningVar, NormArgs a, ArrayView<int> valid, NormMask mask)
    {
        int c = Grid.IdxX, t = Group.IdxX, total = a.N * a.HW, count = mask.Count;
        float s = 0f;
        for (int e = t; e < total; e += Group.DimX)
        {
            int n = e / a.HW, j = e - n * a.HW;
            if (j % mask.W < valid[n]) s += x[(n * a.C + c) * a.HW + j];
        }
        float m = GroupReduce.Sum(s) / count;
        float ss = 0f;
        for (int e = t; e < total; e += Group.DimX)
        {
            int n = e / a.HW, j = e - n * a.HW;
            if (j % mask.W >= valid[n]) continue;
            float d = x[(n * a.C + c) * a.HW + j] - m;
            ss += d * d;
        }
        float sumSq = GroupReduce.Sum(ss);
        if (t != 0) return;
        mean[c] = m;
        invStd[c] = 1f / XMath.Sqrt(sumSq / count + a.Eps);
        if (a.HasRunning != 0)
        {
            runningMean[c] = (1f - a.Momentum) * runningMean[c] + a.Momentum * m;
            runningVar[c] = (1f - a.Momentum) * runningVar[c] + a.Momentum * (sumSq / (count - 1));
        }
    }

    /// <summary>batchnorm2d_apply_masked: <see cref="Apply"/>, 0 at padded positions.</summary>
    public static void ApplyMasked(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> y, NormArgs a, ArrayView<int> valid, NormMask mask)
    {
        int total = a.N * a.C * a.HW;
        for (int at = Grid.GlobalIndex.X; at < total; at += Grid.DimX * Group.DimX)
        {
            int plane = at / a.HW, c = plane % a.C;
            if ((at - plane * a.HW) % mask.W >= valid[plane / a.C])
            {
                y[at] = 0f;
                continue;
            }
            float scale = invStd[c] * (a.HasWeight != 0 ? weight[c] : 1f);
            y[at] = (x[at] - mean[c]) * scale + (a.HasBias != 0 ? bias[c] : 0f);
        }
    }

    /// <summary>batchnorm2d_bwd_reduce_masked: <see cref="BackwardReduce"/> over the kept positions only.</summary>
    public static void BackwardReduceMasked(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd,
        ArrayView<float> sums, ArrayView<float> dWeight, ArrayView<float> dBias, NormArgs a, ArrayView<int> valid, NormMask mask)
    {
        int c = Grid.IdxX, t = Group.IdxX, total = a.N * a.HW;
        float m = mean[c], istd = invStd[c];
        float sdy = 0f, sdyx = 0f;
        for (int e = t; e < total; e += Group.DimX)
        {
            int n = e / a.HW, j = e - n * a.HW, at = (n * a.C + c) * a.HW + j;
            if (j % mask.W >= valid[n]) continue;
            float g = dy[at];
            sdy += g;
            sdyx += g * (x[at] - m) * istd;
        }
        sdy = GroupReduce.Sum(sdy);
        sdyx = GroupReduce.Sum(sdyx);
        if (t != 0) return;
        sums[c] = sdy;
        sums[a.C + c] = sdyx;
        if (a.HasBias != 0) dBias[c] = sdy;
        if (a.HasWeight != 0) dWeight[c] = sdyx;
    }

    /// <summary>batchnorm2d_bwd_dx_masked: <see cref="BackwardDx"/> with count = H·Σvalid, 0 at padded positions.</summary>
    public static void BackwardDxMasked(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> mean,
        ArrayView<float> invStd, ArrayView<float> sums, ArrayView<float> dx, NormArgs a, ArrayView<int> valid, NormMask mask)
    {
        int total = a.N * a.C * a.HW, count = mask.Count;
        for (int at = Grid.GlobalIndex.X; at < total; at += Grid.DimX * Group.DimX)
        {
            int plane = at / a.HW, c = plane % a.C;
            if ((at - plane * a.HW) % mask.W >= valid[plane / a.C])
            {
                dx[at] = 0f;
                continue;
            }
            float scale = invStd[c] * (a.HasWeight != 0 ? weight[c] : 1f);
            if (a.Training != 0)
            {
                float xhat = (x[at] - mean[c]) * invStd[c];
                dx[at] = scale * (dy[at] - sums[c] / count - xhat * sums[a.C + c] / count);
            }
            else
            {
                dx[at] = scale * dy[at];
            }
        }
    }
}
