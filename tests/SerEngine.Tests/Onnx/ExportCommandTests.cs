using System.Text.Json;
using SerEngine.Models.Training;
using SerEngine.Onnx.Proto;
using SerEngine.Tests.Cli;

namespace SerEngine.Tests.Onnx;

/// <summary><c>ser export</c>: writes a parseable ONNX file (and the sample), and refuses bad input with one line.</summary>
public sealed class ExportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ser-export").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void AssertError(int code, string fragment, (int Code, string Out, string Err) r)
    {
        Assert.Equal(code, r.Code);
        var line = Assert.Single(r.Err.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'));
        Assert.StartsWith("ser: ", line);
        Assert.Contains(fragment, line);
    }

    [Fact]
    public void Export_WritesOnnxAndSample_ForACheckpoint()
    {
        var model = OnnxExportTests.SmallFca(seed: 7);
        var ckpt = Path.Combine(_dir, "fca.safetensors");
        Checkpoint.Save(ckpt, model);
        var onnx = Path.Combine(_dir, "fca.onnx");
        var sample = Path.Combine(_dir, "fca.sample.json");
        var r = TrainCommandTests.Run("export", "--checkpoint", ckpt, "--onnx", onnx, "--sample", sample);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("fca as ONNX opset 17", r.Out);

        var m = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnx));
        Assert.Equal("SerEngine", m.ProducerName);
        Assert.Equal(model.Network.StateDict().Count, m.Graph.Initializer.Count);
        Assert.Equal("63", m.MetadataProps.Single(p => p.Key == "segment_frames").Value);
        Assert.Equal(["fca.onnx", "fca.safetensors", "fca.sample.json"],
            Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal)); // no temp files left

        using var doc = JsonDocument.Parse(File.ReadAllText(sample));
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(3, cases.Count);
        Assert.Equal([8, 63, 77], cases.Select(c => c.GetProperty("shape")[3].GetInt32()));
        foreach (var c in cases)
        {
            Assert.Equal(2 * 26 * c.GetProperty("shape")[3].GetInt32(), c.GetProperty("input").GetArrayLength());
            Assert.Equal(2 * 3, c.GetProperty("logits").GetArrayLength());
        }
    }

    [Fact]
    public void Export_RefusesBadInput_WithOneLine()
    {
        var ckpt = Path.Combine(_dir, "fcn.safetensors");
        Checkpoint.Save(ckpt, OnnxExportTests.SmallFcn());
        var onnx = Path.Combine(_dir, "out.onnx");
        AssertError(2, "export needs --onnx", TrainCommandTests.Run("export", "--checkpoint", ckpt));
        AssertError(2, "export needs --checkpoint", TrainCommandTests.Run("export", "--onnx", onnx));
        AssertError(1, "does not exist", TrainCommandTests.Run("export", "--checkpoint", Path.Combine(_dir, "missing.safetensors"), "--onnx", onnx));
        var junk = Path.Combine(_dir, "junk.safetensors");
        File.WriteAllText(junk, "not a checkpoint");
        AssertError(1, "junk.safetensors", TrainCommandTests.Run("export", "--checkpoint", junk, "--onnx", onnx));
        AssertError(1, "does not exist", TrainCommandTests.Run("export", "--checkpoint", ckpt, "--onnx", Path.Combine(_dir, "no", "out.onnx")));
        AssertError(1, "it is a folder", TrainCommandTests.Run("export", "--checkpoint", ckpt, "--onnx", _dir));
        Assert.False(File.Exists(onnx));
    }
}
