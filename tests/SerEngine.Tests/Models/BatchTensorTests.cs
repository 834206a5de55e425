using SerEngine.Backends;
using SerEngine.Models.Training;

namespace SerEngine.Tests.Models;

/// <summary>Batch inputs filled in place: the values written, zeros everywhere else, even from a reused pooled array.</summary>
public sealed class BatchTensorTests
{
    [Fact]
    public void FilledWritesIntoZerosEvenWhenThePoolReusesADirtyArray()
    {
        var backend = BackendRegistry.Get("cpu");
        var shape = new Shape(3, 1, 40, 300); // above the large-object threshold, as a real batch is
        for (int round = 0; round < 3; round++)
        {
            using var scope = TensorScope.Begin();
            // leave garbage in the pool's arrays of this size
            using (TensorScope.Begin()) _ = Tensor.Full(shape, float.NaN, backend);
            var t = BatchTensor.Filled(shape, backend, v =>
            {
                for (int i = 0; i < v.Length; i += 7) v[i] = i + round;
            });
            Assert.Equal(shape, t.Shape);
            var values = t.ToArray();
            for (int i = 0; i < values.Length; i++) Assert.Equal(i % 7 == 0 ? i + round : 0f, values[i]);
        }
    }
}
