using SerEngine.IO;
using SerEngine.IO.Torch;

namespace SerEngine.Tests.IO;

/// <summary>Finds tests/SerEngine.Tests/TestData/torch (written by tests/fixtures-gen/make_torch_checkpoints.py).</summary>
public static class TorchTestData
{
    /// <summary>The folder, found by walking up from the test binaries.</summary>
    public static string Directory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "SerEngine.Tests", "TestData", "torch");
                if (System.IO.Directory.Exists(candidate)) return candidate;
            }
            throw new DirectoryNotFoundException($"tests/SerEngine.Tests/TestData/torch not found above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>The full path of a test file.</summary>
    public static string File(string name) => Path.Combine(Directory, name);
}

public class TorchCheckpointTests
{
    /// <summary>torchvision.models.AlexNet().state_dict() names, in its order.</summary>
    internal static readonly string[] AlexNetNames =
    [
        "features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias", "features.6.weight", "features.6.bias",
        "features.8.weight", "features.8.bias", "features.10.weight", "features.10.bias",
        "classifier.1.weight", "classifier.1.bias", "classifier.4.weight", "classifier.4.bias", "classifier.6.weight", "classifier.6.bias",
    ];

    /// <summary>Would exist if any hostile pickle had been executed.</summary>
    private const string Marker = "/tmp/serengine-torch-pwned";

    private static void AssertSameTensors(IReadOnlyDictionary<string, HostTensor> expected, IReadOnlyDictionary<string, HostTensor> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            Assert.True(e.Shape == a.Shape, $"{name}: shape {a.Shape}, expected {e.Shape}");
            if (e.Floats is not null)
            {
                Assert.NotNull(a.Floats);
                for (int i = 0; i < e.Floats.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(e.Floats[i]) == BitConverter.SingleToInt32Bits(a.Floats![i]), $"{name}[{i}]: {a.Floats[i]}, expected {e.Floats[i]}");
            }
            else
            {
                Assert.Equal(e.Ints, a.Ints);
            }
        }
    }

    [Theory]
    [InlineData("alexnet_small.pth", "zip", "")]
    [InlineData("alexnet_small_legacy.pth", "legacy", "")]
    [InlineData("alexnet_small_nested.pth", "zip", "state_dict")]
    public void SmallAlexNetLoadsWithTorchvisionNamesInOrderAndExactValues(string file, string format, string key)
    {
        var ckpt = TorchCheckpoint.Read(TorchTestData.File(file));
        Assert.Equal(format, ckpt.Format);
        Assert.Equal(key, ckpt.Key);
        Assert.Equal(AlexNetNames, ckpt.Tensors.Keys);
        Assert.Equal(new Shape(8, 3, 11, 11), ckpt.Tensors["features.0.weight"].Shape);
        Assert.Equal(new Shape(32, 16 * 6 * 6), ckpt.Tensors["classifier.1.weight"].Shape);
        AssertSameTensors(SafeTensors.Read(TorchTestData.File("alexnet_small.expected.safetensors")).Tensors, ckpt.Tensors);
    }

    [Fact]
    public void Float16CheckpointIsWidenedToFloat32Exactly()
    {
        var ckpt = TorchCheckpoint.Read(TorchTestData.File("alexnet_small_half.pth"));
        AssertSameTensors(SafeTensors.Read(TorchTestData.File("alexnet_small_half.expected.safetensors")).Tensors, ckpt.Tensors);
    }

    [Theory]
    [InlineData("variants.pth")]
    [InlineData("variants_legacy.pth")]
    public void ViewsSharedStoragesDtypesAndParametersMatchTorchValues(string file)
    {
        var t = TorchCheckpoint.Read(TorchTestData.File(file)).Tensors;
        AssertSameTensors(SafeTensors.Read(TorchTestData.File("variants.expected.safetensors")).Tensors, t);
        // the views were taken of "base" [4, 6]; check a few by hand against it as well
        var b = t["base"].Floats!;
        Assert.Equal(new Shape(6, 4), t["transposed"].Shape);
        Assert.Equal(b[1 * 6 + 2], t["transposed"].Floats![2 * 4 + 1]);
        Assert.Equal(new Shape(3, 3), t["strided"].Shape);
        Assert.Equal(b[(1 + 2) * 6 + 2 * 2], t["strided"].Floats![2 * 3 + 2]);
        Assert.Equal(new Shape(), t["scalar"].Shape);
        Assert.Equal(b[23], t["scalar"].Floats![0]);
        Assert.Equal([1, -2, 3, 2_000_000_000], t["long"].Ints!);
        Assert.Equal([42], t["num_batches_tracked"].Ints!);
        Assert.Equal([1, 0, 1], t["flags"].Ints!);
        Assert.Equal(new Shape(0, 3), t["empty"].Shape);
        Assert.Equal(new Shape(4, 2, 3), t["permuted"].Shape);
    }

    [Fact]
    public void ParametersSavedFromAModuleRebuildAsTensors()
    {
        var t = TorchCheckpoint.Read(TorchTestData.File("module_params.pth")).Tensors;
        var expected = SafeTensors.Read(TorchTestData.File("variants.expected.safetensors")).Tensors;
        Assert.Equal(["weight", "bias"], t.Keys);
        Assert.Equal(expected["param.weight"].Floats, t["weight"].Floats);
        Assert.Equal(expected["param.bias"].Floats, t["bias"].Floats);
    }

    [Theory]
    [InlineData("handmade_proto4.pth")]
    [InlineData("handmade_proto5.pth")]
    public void Protocol4And5PicklesWithFramesAndStackGlobalsLoad(string file)
    {
        var t = TorchCheckpoint.Read(TorchTestData.File(file)).Tensors;
        Assert.Equal(["module.w", "module.v"], t.Keys);
        Assert.Equal([1f, 3f, 2f, 4f], t["module.w"].Floats!); // size (2, 2), stride (1, 2) over 1, 2, 3, 4
        Assert.Equal([2f, 3f, 4f], t["module.v"].Floats!);     // offset 1
    }

    [Theory]
    [InlineData("handmade_ok.pth")]
    [InlineData("handmade_torch2_layout.pth")]
    public void HandBuiltZipsLoad(string file)
    {
        var t = TorchCheckpoint.Read(TorchTestData.File(file)).Tensors;
        Assert.Equal(new Shape(2, 2), t["w"].Shape);
        Assert.Equal([1f, 2f, 3f, 4f], t["w"].Floats!);
    }

    [Fact]
    public void TensorsWithPythonAttributesRebuildThroughRebuildFromType()
    {
        var t = TorchCheckpoint.Read(TorchTestData.File("handmade_from_type.pth")).Tensors;
        Assert.Equal([1f, 2f, 3f, 4f], t["w"].Floats!);
    }

    [Fact]
    public void SniffingTellsZipAndPickleFromSafetensors()
    {
        Assert.True(TorchCheckpoint.IsTorchCheckpoint("PK\u0003\u0004"u8));
        Assert.True(TorchCheckpoint.IsTorchCheckpoint([0x80, 0x02, 0x8a, 0x0a]));
        Assert.False(TorchCheckpoint.IsTorchCheckpoint(File.ReadAllBytes(TorchTestData.File("alexnet_small.expected.safetensors")).AsSpan(0, 4)));
        Assert.False(TorchCheckpoint.IsTorchCheckpoint([0x80]));
    }

    public static TheoryData<string, string> Hostile => new()
    {
        { "hostile_os_system.pkl", "pickle at byte 2: global 'os.system' is not allowed in a checkpoint (only state-dict types)" },
        { "hostile_reduce_posix_system.pkl", "pickle at byte 2: global 'posix.system' is not allowed in a checkpoint (only state-dict types)" },
        { "hostile_stack_global.pkl", "global 'posix.system' is not allowed in a checkpoint" },
        { "hostile_builtins_eval.pkl", "global '__builtin__.eval' is not allowed in a checkpoint" },
        { "hostile_builtins_eval_proto4.pkl", "global 'builtins.eval' is not allowed in a checkpoint (only state-dict types)" },
        { "hostile_getattr.pkl", "global '__builtin__.getattr' is not allowed in a checkpoint" },
        { "hostile_zip_os_system.pth", "archive/data.pkl at byte 2: global 'os.system' is not allowed in a checkpoint (only state-dict types)" },
        { "hostile_reduce_object.pth", "/data.pkl at byte " },
        { "hostile_reduce_object_legacy.pth", "legacy pickle at byte " },
        { "hostile_truncated_pickle.pth", "archive/data.pkl at byte 78: string of 7 bytes runs past the end of the pickle (truncated: 1 bytes left)" },
        { "hostile_truncated_zip.pth", "zip directory: expected a readable zip archive" },
        { "hostile_missing_storage.pth", "archive/data/0: tensor 'w' needs storage '0', but the archive has no such entry" },
        { "hostile_short_storage.pth", "archive/data/0: storage '0' (4 × torch.FloatStorage): expected 16 bytes, found an entry of 12" },
        { "hostile_view_past_storage.pth", "size (3, 2) with stride (2, 1) at offset 0 reaches element 5, but storage '0' holds 4 elements" },
        { "hostile_offset_past_storage.pth", "size (2) with stride (1) at offset 3 reaches element 4, but storage '0' holds 4 elements" },
        { "hostile_storage_key_path.pth", "storage key '../../etc/passwd' is not 1 to 64 letters, digits or '_'" },
        { "hostile_entry_path.pth", "entry '../archive/data.pkl': expected a plain relative entry name" },
        { "hostile_memo_get.pth", "archive/data.pkl at byte 2: memo index 2147483647 was never stored" },
        { "hostile_memo_put.pth", "archive/data.pkl at byte 3: memo index 2147483647 is beyond the limit of 16777216" },
        { "hostile_deep_marks.pth", "archive/data.pkl at byte 1002: MARKs nested deeper than 1000" },
        { "hostile_long_string.pth", "archive/data.pkl at byte 2: string of 2147483647 bytes is longer than the limit of 16777216" },
        { "hostile_zip_bomb.pth", "archive/data.pkl: data.pkl: expected at most 67108864 bytes, found an entry of 83886080" },
        { "hostile_complex_storage.pth", "global 'torch.ComplexFloatStorage' is not allowed in a checkpoint" },
        { "hostile_big_endian.pth", "archive/byteorder: expected byte order 'little', found 'big'" },
        { "hostile_list.pth", "top level: expected a state dict (a dict of tensors), found a list" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void HostileOrMalformedFilesAreRefusedWithOneLineAndNoSideEffects(string file, string fragment)
    {
        if (File.Exists(Marker)) File.Delete(Marker);
        var path = TorchTestData.File(file);
        var ex = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Read(path));
        Assert.StartsWith(path + ": ", ex.Message);
        Assert.Contains(fragment, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.False(File.Exists(Marker), "a hostile pickle ran a command");
    }

    [Fact]
    public void AReduceObjectNextToATensorIsRefusedAtItsGlobal()
    {
        var ex = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Read(TorchTestData.File("hostile_reduce_object.pth")));
        Assert.Matches(@"hostile_reduce_object/data\.pkl at byte \d+: global 'posix\.system' is not allowed in a checkpoint \(only state-dict types\)$", ex.Message);
    }

    [Fact]
    public void NeitherZipNorPickleIsRefusedNamingTheFirstBytes()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ser-torch-{Guid.NewGuid():N}.pth");
        File.WriteAllText(path, "hello");
        try
        {
            var ex = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Read(path));
            Assert.Equal($"{path}: byte 0: expected a zip archive (\"PK\\x03\\x04\") or a pickle (0x80), found 68 65 6c 6c", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public class TorchCheckpointFuzzTests
{
    [Theory]
    [InlineData("variants.pth", 1)]
    [InlineData("variants_legacy.pth", 2)]
    [InlineData("handmade_proto4.pth", 3)]
    public void MutatedFilesEitherLoadOrFailWithTheFormatException(string file, int seed)
    {
        var original = File.ReadAllBytes(TorchTestData.File(file));
        var rng = new Random(seed);
        var path = Path.Combine(Path.GetTempPath(), $"ser-torch-fuzz-{Guid.NewGuid():N}.pth");
        int refused = 0;
        try
        {
            for (int iter = 0; iter < 150; iter++)
            {
                var b = (byte[])original.Clone();
                for (int k = 1 + rng.Next(4); k > 0; k--) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                if (iter % 10 == 0) b = b[..rng.Next(b.Length)];
                File.WriteAllBytes(path, b);
                try
                {
                    TorchCheckpoint.Read(path);
                }
                catch (TorchCheckpointFormatException ex)
                {
                    Assert.StartsWith(path + ": ", ex.Message);
                    Assert.DoesNotContain('\n', ex.Message);
                    refused++;
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
        Assert.True(refused >= 15, $"only {refused} of 150 mutations were refused"); // at least the truncations
    }
}
