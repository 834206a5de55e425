using SerEngine.Backends;
using SerEngine.IO;
using SerEngine.IO.Torch;
using SerEngine.Models;
using SerEngine.Models.Training;
using SerEngine.Optim;
using SerEngine.Tests.Cli;
using SerEngine.Tests.IO;

namespace SerEngine.Tests.Models;

/// <summary>Fine-tuning AttentionFcn from a torchvision-structured AlexNet checkpoint (.pth or safetensors).</summary>
public class PretrainedTests
{
    private static readonly int[] SmallWidths = [8, 16, 24, 24, 16]; // those of alexnet_small.pth

    private static AttentionFcn Net(int seed = 3, int[]? widths = null) =>
        new(new AttentionFcnConfig(4, Widths: widths ?? SmallWidths, Dropout: 0f), new Generator((ulong)seed), BackendRegistry.Get("cpu"));

    [Theory]
    [InlineData("alexnet_small.pth")]
    [InlineData("alexnet_small_legacy.pth")]
    [InlineData("alexnet_small_nested.pth")]
    [InlineData("alexnet_small.expected.safetensors")]
    public void EncoderTakesTheFeaturesWithConv1SummedOverRgbAndLeavesTheHeadAlone(string file)
    {
        var expected = SafeTensors.Read(TorchTestData.File("alexnet_small.expected.safetensors")).Tensors;
        var net = Net();
        var headBefore = net.StateDict().Where(kv => !kv.Key.StartsWith("features.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var summary = PretrainedWeights.LoadInto(net, TorchTestData.File(file));
        Assert.EndsWith(": 10 features.* tensors loaded, features.0.weight summed over its input channels, 6 others ignored", summary);
        var sd = net.StateDict();

        // conv1: [8, 1, 11, 11] = the sum of torchvision's [8, 3, 11, 11] over R, G, B
        var w3 = expected["features.0.weight"].Floats!;
        var w1 = sd["features.0.weight"].ToArray();
        Assert.Equal(new Shape(8, 1, 11, 11), sd["features.0.weight"].Shape);
        for (int o = 0; o < 8; o++)
            for (int p = 0; p < 121; p++)
            {
                float sum = w3[(o * 3 + 0) * 121 + p] + w3[(o * 3 + 1) * 121 + p] + w3[(o * 3 + 2) * 121 + p];
                Assert.Equal(sum, w1[o * 121 + p], 6);
            }
        foreach (var name in TorchCheckpointTests.AlexNetNames.Where(n => n.StartsWith("features.", StringComparison.Ordinal) && n != "features.0.weight"))
            Assert.Equal(expected[name].Floats!, sd[name].ToArray());
        foreach (var (name, before) in headBefore) Assert.Equal(before, sd[name].ToArray()); // attention.*, fc.* untouched
    }

    [Fact]
    public void FineTuningFromTheCheckpointTrainsWithAFiniteFallingLoss()
    {
        var backend = BackendRegistry.Get("cpu");
        var net = Net(5);
        PretrainedWeights.LoadInto(net, TorchTestData.File("alexnet_small.pth"));
        net.Train();
        var rng = new Generator(17);
        int n = 4, f = AttentionFcn.MinimumLength, t = AttentionFcn.MinimumLength + 8;
        var x = new float[n * f * t]; // [N, 1, F, T]
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal();
        int[] labels = [0, 1, 2, 3];
        var opt = new Adam(net.Parameters(), lr: 1e-3f);
        var losses = new List<float>();
        for (int step = 0; step < 6; step++)
        {
            using var scope = TensorScope.Begin();
            var logits = net.Forward(Tensor.FromArray(x, new Shape(n, 1, f, t), backend), [t, t - 4, t - 8, t]).Logits;
            var loss = Ops.CrossEntropy(logits, Tensor.FromArray(labels, new Shape(n), backend));
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
            losses.Add(loss.Item());
        }
        Assert.All(losses, l => Assert.True(float.IsFinite(l), $"loss {l}"));
        Assert.True(losses[^1] < losses[0], $"the loss should fall on a fixed batch: {string.Join(", ", losses)}");
    }

    [Fact]
    public void WidthMismatchNamesBothShapesAndTheWidthsToPass()
    {
        var ex = Assert.Throws<CheckpointException>(() => PretrainedWeights.LoadInto(Net(widths: [8, 16, 24, 24, 32]), TorchTestData.File("alexnet_small.pth")));
        Assert.Contains("pretrained 'features.10.weight' has shape [16, 24, 3, 3], the model expects [32, 24, 3, 3]", ex.Message);
        Assert.Contains("pass --widths 8,16,24,24,16", ex.Message);
    }

    [Fact]
    public void AFileWithoutFeaturesIsRefusedListingItsNames()
    {
        var ex = Assert.Throws<CheckpointException>(() => PretrainedWeights.LoadInto(Net(), TorchTestData.File("module_params.pth")));
        Assert.Contains("have no features.* tensors (found 'weight', 'bias'; torchvision AlexNet names expected)", ex.Message);
    }

    [Fact]
    public void HostileCheckpointBecomesOneLineCheckpointError()
    {
        var path = TorchTestData.File("hostile_reduce_object.pth");
        var ex = Assert.Throws<CheckpointException>(() => PretrainedWeights.LoadInto(Net(), path));
        Assert.StartsWith($"pretrained weights: {path}: hostile_reduce_object/data.pkl at byte ", ex.Message);
        Assert.EndsWith("global 'posix.system' is not allowed in a checkpoint (only state-dict types)", ex.Message);
    }

    private static readonly string[] TinyRun =
        ["train", "--model", "fcn", "--corpus-speakers", "4", "--corpus-utterances", "2", "--corpus-classes", "2", "--folds", "2", "--fold", "1", "--epochs", "1"];

    [Fact]
    public void TrainCommandFineTunesFromAPthFile()
    {
        var outDir = Directory.CreateTempSubdirectory("ser-pretrained").FullName;
        try
        {
            var (code, stdout, stderr) = TrainCommandTests.Run([.. TinyRun, "--widths", "8,16,24,24,16", "--pretrained", TorchTestData.File("alexnet_small.pth"), "--out", outDir]);
            Assert.True(code == 0, stderr);
            Assert.Contains("model: fcn: AttentionFcn widths 8,16,24,24,16", stdout);
            Assert.Contains("training: Adam lr 1e-4", stdout); // the fine-tuning default
            Assert.Contains($"fold 1/2: pretrained encoder from {TorchTestData.File("alexnet_small.pth")} (PyTorch zip state dict): 10 features.* tensors loaded, features.0.weight summed over its input channels, 6 others ignored", stdout);
            Assert.Matches(@"result: WA=\d\.\d{3} UA=\d\.\d{3}", stdout);
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    [Theory]
    [InlineData("hostile_reduce_object.pth", "global 'posix.system' is not allowed in a checkpoint (only state-dict types)")]
    [InlineData("hostile_truncated_zip.pth", "expected a readable zip archive, found a damaged or truncated one")]
    [InlineData("alexnet_small.pth", "pass --widths 8,16,24,24,16")]
    public void TrainCommandRefusesBadPretrainedFilesWithOneLine(string file, string fragment)
    {
        var outDir = Path.Combine(Path.GetTempPath(), $"ser-pretrained-{Guid.NewGuid():N}");
        try
        {
            var (code, _, stderr) = TrainCommandTests.Run([.. TinyRun, "--pretrained", TorchTestData.File(file), "--out", outDir]);
            Assert.Equal(1, code);
            var line = Assert.Single(stderr.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'));
            Assert.StartsWith("ser: pretrained", line);
            Assert.Contains(fragment, line);
            Assert.DoesNotContain(" at SerEngine.", line);
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
    }

    [Fact]
    public void DataParallelPrefixIsStripped()
    {
        var t = PretrainedWeights.ReadTensors(TorchTestData.File("handmade_proto4.pth"));
        Assert.Equal(["w", "v"], t.Keys);
    }
}
