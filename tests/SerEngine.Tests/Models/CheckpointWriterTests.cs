using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Models;
using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Tests.Models;

/// <summary>The background checkpoint writer: same bytes as a direct save, snapshot taken at Save, failures at Flush.</summary>
public sealed class CheckpointWriterTests : IDisposable
{
    private static readonly string[] Labels = ["angry", "happy", "neutral", "sad"];

    private readonly string _dir = Directory.CreateTempSubdirectory("ser-ckptw").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static FcaModel Model() => new(new FocusCalibrationNetConfig(Labels.Length, 26, 2, 8), new SegmentSettings(), Labels,
        new FeatureSpec(FeatureSettings.PaperB, FcaModel.SegmentSamples(FeatureSettings.PaperB, new SegmentSettings())), new Generator(5), BackendRegistry.Get("cpu"));

    [Fact]
    public void WritesTheBytesADirectSaveWritesAsTheyWereAtSave()
    {
        var model = Model();
        string direct = Path.Combine(_dir, "direct.safetensors"), queued = Path.Combine(_dir, "sub", "queued.safetensors");
        Checkpoint.Save(direct, model);
        var writer = new CheckpointWriter();
        writer.Save(queued, model);
        // a weight changed after Save (the next epoch's steps) must not reach the queued file
        var w = model.Network.Parameters().First();
        w.CopyFrom(w.ToArray().Select(v => v + 1f).ToArray());
        writer.Flush();
        Assert.Equal(File.ReadAllBytes(direct), File.ReadAllBytes(queued));
    }

    [Fact]
    public void SavesInARowReuseTheSnapshotArraysAndEachFileHoldsItsOwnMoment()
    {
        var model = Model();
        var optimizer = new SerEngine.Optim.Adam(model.Network.Parameters().ToList(), 1e-3f);
        var writer = new CheckpointWriter();
        var w = model.Network.Parameters().First();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            string direct = Path.Combine(_dir, $"direct{epoch}.safetensors"), queued = Path.Combine(_dir, $"queued{epoch}.safetensors");
            Checkpoint.Save(direct, model, optimizer);
            writer.Save(queued, model, optimizer);
            writer.Save(Path.Combine(_dir, $"best{epoch}.safetensors"), model); // a second snapshot while the first may still be writing
            w.CopyFrom(w.ToArray().Select(v => v * 0.5f + 1f).ToArray());
            writer.Flush();
            Assert.Equal(File.ReadAllBytes(direct), File.ReadAllBytes(queued));
        }
        // after the writes, the arrays are back: a rent of the first weight's size hands out a used one, not a new zeroed one
        var again = writer.Buffers.Rent(w.Size);
        Assert.Contains(again, v => v != 0f);
    }

    [Fact]
    public void SnapshotBuffersCopyExactlyAndFindNonFiniteValues()
    {
        var buffers = new SnapshotBuffers();
        var t = Tensor.FromArray([1f, -2f, 3.5f, 0f, 7f], new Shape(5), BackendRegistry.Get("cpu"));
        var host = buffers.Copy(t);
        Assert.Equal(t.ToArray(), host.Floats!);
        Assert.Equal(t.Shape, host.Shape);
        buffers.Return(host.Floats!);
        Assert.Same(host.Floats, buffers.Rent(5));
        Assert.NotSame(host.Floats, buffers.Rent(5)); // handed out once, then a new one
        Assert.Equal(4, buffers.Rent(4).Length);
        Assert.True(buffers.AllFinite([t]));
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var u = Tensor.FromArray([0f, 1f, 2f, bad, 4f, 5f, 6f], new Shape(7), BackendRegistry.Get("cpu"));
            Assert.False(buffers.AllFinite([t, u]));
        }
        var ints = Tensor.FromArray(new int[] { 3, 4 }, new Shape(2), BackendRegistry.Get("cpu"));
        Assert.Equal(new[] { 3, 4 }, buffers.Copy(ints).Ints!);
    }

    [Fact]
    public void AFailedWriteSurfacesAtFlush()
    {
        var model = Model();
        string blocked = Path.Combine(_dir, "taken.safetensors");
        Directory.CreateDirectory(Path.Combine(blocked, "inside")); // a non-empty folder where the file should go: the rename fails
        var writer = new CheckpointWriter();
        writer.Save(blocked, model);
        Assert.ThrowsAny<Exception>(writer.Flush); // IOException or UnauthorizedAccessException, as the platform maps it
        writer.WaitQuietly();
        // the next epoch's save reports it too, instead of training on to the end
        Assert.ThrowsAny<Exception>(() => writer.Save(Path.Combine(_dir, "next.safetensors"), model));
    }
}
