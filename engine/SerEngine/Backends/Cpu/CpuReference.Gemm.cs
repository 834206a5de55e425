namespace SerEngine.Backends.Cpu;

// GEMM: the triple loop, accumulated in double so the oracle is more accurate than any fast path.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void Gemm(bool transA, bool transB, int batch, int m, int n, int k,
        float alpha, Storage a, int strideA, Storage b, int strideB, float beta, Storage c, int strideC)
    {
        float[] av = F(a), bv = F(b), cv = F(c);
        for (int p = 0; p < batch; p++)
        {
            int ao = p * strideA, bo = p * strideB, co = p * strideC;
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int q = 0; q < k; q++)
                    {
                        float x = transA ? av[ao + q * m + i] : av[ao + i * k + q]; // A [m, k] or [k, m]
                        float y = transB ? bv[bo + j * k + q] : bv[bo + q * n + j]; // B [k, n] or [n, k]
                        acc += (double)x * y;
                    }
                    float prev = beta == 0f ? 0f : beta * cv[co + i * n + j];
                    cv[co + i * n + j] = (float)(alpha * acc) + prev;
                }
            }
        }
    }
}
