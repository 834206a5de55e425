using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Binary over many short broadcast runs (FocusCalibrationNet's attention: [32, 4, 15, 64] times a
// [1, 4, 1, 64] or [32, 4, 1, 1] operand, 1920 runs of 64): the runs of a chunk are walked in one loop
// with the op as a type argument, so a run costs its vector work instead of a delegate call, a
// TensorPrimitives call and its overlap checks. The same single float operation per element as
// BinaryRun: the results are its bit for bit.
// Legend: a, b, y as in Binary; a run is y[o0 + i] = a[o1 + i·sa] op b[o2 + i·sb], i < Inner.
public partial class CpuBackend
{
    /// <summary>Longest run that Binary walks with BinaryShortRows.</summary>
    internal const int BinaryShortRow = 256;

    private void BinaryShortRows(BinaryOp op, StridedLoop loop, float[] av, float[] bv, float[] yv, long work)
    {
        switch (op)
        {
            case BinaryOp.Add: ShortRows<AddOp>(loop, av, bv, yv, work); break;
            case BinaryOp.Sub: ShortRows<SubOp>(loop, av, bv, yv, work); break;
            case BinaryOp.Mul: ShortRows<MulOp>(loop, av, bv, yv, work); break;
            case BinaryOp.Div: ShortRows<DivOp>(loop, av, bv, yv, work); break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    private unsafe void ShortRows<TOp>(StridedLoop loop, float[] av, float[] bv, float[] yv, long work) where TOp : struct, IBinaryFloatOp
    {
        int inner = loop.Inner, sa = loop.InnerStride(1), sb = loop.InnerStride(2);
        ForChunks((int)loop.Rows, work, (s, e) =>
        {
            var l = loop.Clone();
            l.Seek(s);
            fixed (float* pa = av, pb = bv, py = yv)
                for (int r = s; r < e; r++)
                {
                    ShortRun<TOp>(pa + l.Offset(1), sa, pb + l.Offset(2), sb, py + l.Offset(0), inner);
                    if (r + 1 < e) l.Next();
                }
        });
    }

    /// <summary>y[i] = a[i·sa] op b[i·sb] for i &lt; n: vectors when both strides are 0 or 1, else one at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ShortRun<TOp>(float* a, int sa, float* b, int sb, float* y, int n) where TOp : struct, IBinaryFloatOp
    {
        int i = 0;
        if ((sa | sb) is 0 or 1)
        {
            if (sa == 1 && sb == 1)
                for (; i + 8 <= n; i += 8) TOp.Apply(Vector256.Load(a + i), Vector256.Load(b + i)).Store(y + i);
            else if (sa == 1)
            {
                var vb = Vector256.Create(*b);
                for (; i + 8 <= n; i += 8) TOp.Apply(Vector256.Load(a + i), vb).Store(y + i);
            }
            else if (sb == 1)
            {
                var va = Vector256.Create(*a);
                for (; i + 8 <= n; i += 8) TOp.Apply(va, Vector256.Load(b + i)).Store(y + i);
            }
        }
        for (; i < n; i++) y[i] = TOp.Apply(a[(long)i * sa], b[(long)i * sb]);
    }

    /// <summary>One binary float operation, on a value and on eight.</summary>
    private interface IBinaryFloatOp
    {
        static abstract float Apply(float a, float b);
        static abstract Vector256<float> Apply(Vector256<float> a, Vector256<float> b);
    }

    private readonly struct AddOp : IBinaryFloatOp
    {
        public static float Apply(float a, float b) => a + b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a + b;
    }

    private readonly struct SubOp : IBinaryFloatOp
    {
        public static float Apply(float a, float b) => a - b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a - b;
    }

    private readonly struct MulOp : IBinaryFloatOp
    {
        public static float Apply(float a, float b) => a * b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a * b;
    }

    private readonly struct DivOp : IBinaryFloatOp
    {
        public static float Apply(float a, float b) => a / b;
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a / b;
    }
}
