// maxpool2d.cl — 2-D max pooling, forward and backward   (Backend.MaxPool2dForward, MaxPool2dBackward)
//
// Dimensions: x [N, C, H, W] seen as planes = N·C planes of H×W, y and argmax [planes, OH, OW].
// Window of output (oh, ow): rows oh·strideH − padH .. + kH − 1, columns likewise; padded positions
// are skipped, so they never win. argmax holds the winner's flat index h·W + w within its plane.
// Ties keep the first position in row-major window order; a NaN wins (and propagates), as in PyTorch.
//
// Variants: one each.
//   maxpool2d_fwd  one work-item per output element.                                   (default)
//   maxpool2d_bwd  one work-item per input element: a gather over the windows that contain it,
//                  summing dy where argmax points at it (deterministic, no atomics; overlapping
//                  windows accumulate in (oh, ow) order).
// Launch: dim 0 over pixels of a plane, dim 1 over planes; kernels bounds-check.

#define POOL_GEOMETRY const int planes, const int H, const int W, const int OH, const int OW,    \
                      const int kH, const int kW, const int strideH, const int strideW,          \
                      const int padH, const int padW

KERNEL void maxpool2d_fwd(GLOBAL const float* RESTRICT x, // [planes, H, W]
                          GLOBAL float* RESTRICT y,       // [planes, OH, OW]
                          GLOBAL int* RESTRICT argmax,    // [planes, OH, OW]
                          POOL_GEOMETRY)
{
    const int p = GID(0), plane = GID(1);
    if (p >= OH * OW || plane >= planes) return;
    const int oh = p / OW, ow = p - oh * OW;
    const int h0 = oh * strideH - padH, w0 = ow * strideW - padW;
    const int hs = max(h0, 0), ws = max(w0, 0), he = min(h0 + kH, H), we = min(w0 + kW, W);
    GLOBAL const float* xp = x + plane * H * W;
    int best = hs * W + ws;
    float bestValue = -as_float(0x7f800000); // −∞
    for (int h = hs; h < he; h++)
    {
        for (int w = ws; w < we; w++)
        {
            const float v = xp[h * W + w];
            if (v > bestValue || v != v)
            {
                bestValue = v;
                best = h * W + w;
            }
        }
    }
    y[plane * OH * OW + p] = bestValue;
    argmax[plane * OH * OW + p] = best;
}

KERNEL void maxpool2d_bwd(GLOBAL const float* RESTRICT dy,  // [planes, OH, OW]
                          GLOBAL const int* RESTRICT argmax, // [planes, OH, OW]
                          GLOBAL float* RESTRICT dx,         // [planes, H, W]
                          POOL_GEOMETRY)
{
    const int i = GID(0), plane = GID(1);
    if (i >= H * W || plane >= planes) return;
    const int h = i / W, w = i - h * W;
    // outputs whose window covers row h: oh·strideH − padH ≤ h ≤ oh·strideH − padH + kH − 1
    const int ohs = h + padH < kH ? 0 : (h + padH - kH) / strideH + 1;
    const int ohe = min((h + padH) / strideH + 1, OH);
    const int ows = w + padW < kW ? 0 : (w + padW - kW) / strideW + 1;
    const int owe = min((w + padW) / strideW + 1, OW);
    GLOBAL const float* dyp = dy + plane * OH * OW;
    GLOBAL const int* ap = argmax + plane * OH * OW;
    float acc = 0.0f;
    for (int oh = ohs; oh < ohe; oh++)
        for (int ow = ows; ow < owe; ow++)
            if (ap[oh * OW + ow] == i) acc += dyp[oh * OW + ow];
    dx[plane * H * W + i] = acc;
}
