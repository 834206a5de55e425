// loss.cl — cross-entropy of logits against integer class labels, fused with its softmax.
//
// Dimension legend: n rows (samples), c classes; logits, probs, dLogits [n, c]; labels (Int32),
// loss, dLoss [n]; error (Int32) [1].
//
// Kernels (one variant each):
//   cross_entropy_forward    one work-group per row (strided loop + local-memory trees, so c may
//                            exceed the group size): probs = softmax(logits),
//                            loss = max + ln Σ e^(logits − max) − logits[label].
//                            A label outside 0..c−1 sets error[0] = 1 (its loss is NaN); the launch
//                            code reads the flag back and throws, naming the label and its row.
//                                                                   (Backend.CrossEntropyForward)
//   cross_entropy_backward   one work-item per element: dLogits = dLoss[i]·(probs − [j = label]).
//                                                                  (Backend.CrossEntropyBackward)
// CPU twin: CpuReference.CrossEntropy.cs (it sums in double; agreement is to float round-off).

#define MAX_GROUP 256

#include "group.h" // FOR_GROUP_STRIDE, group_max, group_sum

KERNEL void cross_entropy_forward(GLOBAL const float* logits, // [n, c]
                                  GLOBAL const int* labels,   // [n]
                                  GLOBAL float* loss,         // [n]
                                  GLOBAL float* probs,        // [n, c]
                                  GLOBAL int* error,          // [1]: set to 1 on a bad label
                                  const int n, const int c)
{
    LOCAL float scratch[MAX_GROUP];
    const int row = GROUP(0);
    if (row >= n) return; // uniform over the group
    const int o = row * c;
    const int label = labels[row];
    const int bad = label < 0 || label >= c;

    float m = -INFINITY;
    FOR_GROUP_STRIDE(j, c) m = fmax(m, logits[o + j]);
    m = group_max(scratch, m);
    float s = 0.0f;
    FOR_GROUP_STRIDE(j, c) s += exp(logits[o + j] - m);
    s = group_sum(scratch, s);
    FOR_GROUP_STRIDE(j, c) probs[o + j] = exp(logits[o + j] - m) / s;

    if (LID(0) == 0)
    {
        if (bad) error[0] = 1; // every writer stores the same value
        loss[row] = bad ? NAN : m + log(s) - logits[o + label];
    }
}

KERNEL void cross_entropy_backward(GLOBAL const float* probs, // [n, c]
                                   GLOBAL const int* labels,  // [n]
                                   GLOBAL const float* dLoss, // [n]
                                   GLOBAL float* dLogits,     // [n, c]
                                   const int n, const int c)
{
    const int i = GID(0);
    if (i >= n * c) return;
    const int row = i / c, j = i - row * c;
    dLogits[i] = dLoss[row] * (probs[i] - (j == labels[row] ? 1.0f : 0.0f));
}
