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
