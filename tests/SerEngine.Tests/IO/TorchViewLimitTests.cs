using System.IO.Compression;
using System.Numerics;
using System.Text;
using SerEngine.IO;
using SerEngine.IO.Torch;
using SerEngine.Models.Training;

namespace SerEngine.Tests.IO;

/// <summary>Builds small torch.save zip files by hand: one tensor over one FloatStorage, any view (no Python, no torch).</summary>
internal static class CraftedPth
{
    /// <summary>
    /// <c>OrderedDict(key=_rebuild_tensor_v2(FloatStorage '0' of numel, offset, size, stride, False, OrderedDict()))</c>
    /// as a protocol-2 pickle in a zip with <c>archive/data/0</c> holding 1, 2, 3, ... (numel floats).
    /// </summary>
    public static byte[] Zip(string key, long numel, long offset, long[] size, long[] stride)
    {
        var p = new List<byte> { 0x80, 2 };
        void Op(string s) => p.AddRange(Encoding.Latin1.GetBytes(s));
        void Str(string s)
        {
            var b = Encoding.UTF8.GetBytes(s);
            p.Add((byte)'X');
            p.AddRange(BitConverter.GetBytes((uint)b.Length));
            p.AddRange(b);
        }
        void Int(long v)
        {
            var b = new BigInteger(v).ToByteArray(); // LONG1: little-endian two's complement, any size
            p.Add(0x8a);
            p.Add((byte)b.Length);
            p.AddRange(b);
        }
        Op("ccollections\nOrderedDict\n)R");
        Str(key);
        Op("ctorch._utils\n_rebuild_tensor_v2\n(");
        Op("(");
        Str("storage");
        Op("ctorch\nFloatStorage\n");
        Str("0");
        Str("cpu");
        Int(numel);
        Op("tQ");
        Int(offset);
        Op("(");
        foreach (var d in size) Int(d);
        Op("t(");
        foreach (var d in stride) Int(d);
        Op("t");
        p.Add(0x89); // requires_grad False
        Op("ccollections\nOrderedDict\n)RtRs.");

        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] data)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
            Add("archive/data.pkl", [.. p]);
            Add("archive/data/0", [.. Enumerable.Range(1, (int)numel).SelectMany(i => BitConverter.GetBytes((float)i))]);
            Add("archive/version", "3\n"u8.ToArray());
        }
        return ms.ToArray();
    }
}

/// <summary>Issue 15: tensor views are validated (expected shape, element cap, no repeated storage elements) before they are materialised.</summary>
public sealed class TorchViewLimitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ser-torch-views").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Runs <paramref name="read"/>, expecting a one-line refusal that is quick and allocates little.</summary>
    private static string Refused<T>(Func<object> read) where T : Exception
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ex = Assert.Throws<T>(read);
        Assert.True(clock.Elapsed.TotalSeconds < 5, $"refusal took {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, "the reader allocated for the view before refusing it");
        Assert.DoesNotContain('\n', ex.Message);
        return ex.Message;
    }

    [Fact]
    public void AStrideZeroViewOfOneFloatIsRefusedWithItsKeyAndExpectedShape()
    {
        // 506 bytes of file claiming a 16384 x 16384 tensor: 1.16 GB if expanded element by element
        var path = Write("stride0.pth", CraftedPth.Zip("features.0.weight", 1, 0, [16384, 16384], [0, 0]));
        Assert.True(new FileInfo(path).Length < 1024);
        var viaPretrained = Refused<CheckpointException>(() => PretrainedWeights.Read(path));
        Assert.Equal($"pretrained weights: {path}: tensor 'features.0.weight': shape (16384, 16384), expected (*, *, 11, 11) (strides (0, 0) over storage '0' of 1 elements)", viaPretrained);
        // without expected shapes the storage rule refuses it
        var plain = Refused<TorchCheckpointFormatException>(() => TorchCheckpoint.Read(path, new TensorLimits()));
        Assert.Equal($"{path}: tensor 'features.0.weight': shape (16384, 16384) has 268435456 elements but strides (0, 0) over storage '0' of 1 elements: a view that repeats storage elements (stride 0 or overlapping strides) is not a parameter", plain);
    }

    [Fact]
    public void A46340SquaredViewIsRefusedByTheElementCap()
    {
        var path = Write("big.pth", CraftedPth.Zip("w", 1, 0, [46340, 46340], [0, 0]));
        var m = Refused<TorchCheckpointFormatException>(() => TorchCheckpoint.Read(path));
        Assert.Equal($"{path}: tensor 'w': shape (46340, 46340) has more than 268435456 elements (the limit for one tensor) (strides (0, 0) over storage '0' of 1 elements)", m);
    }

    [Fact]
    public void AnExpectedShapeWithRepeatedElementsIsRefused()
    {
        // the right AlexNet shape, but every element is storage element 0
        var path = Write("conv1.pth", CraftedPth.Zip("features.0.weight", 1, 0, [64, 3, 11, 11], [0, 0, 0, 0]));
        var m = Refused<CheckpointException>(() => PretrainedWeights.Read(path));
        Assert.Contains("tensor 'features.0.weight': shape (64, 3, 11, 11) has 23232 elements but strides (0, 0, 0, 0) over storage '0' of 1 elements", m, StringComparison.Ordinal);
        var bias = Write("bias.pth", CraftedPth.Zip("module.features.3.bias", 4, 0, [2, 2], [1, 1]));
        Assert.Contains("tensor 'module.features.3.bias': shape (2, 2), expected (*)", Refused<CheckpointException>(() => PretrainedWeights.Read(bias)), StringComparison.Ordinal);
    }

    [Fact]
    public void ViewsThatDoNotGrowTheStorageStillLoad()
    {
        // expand() on a size-1 dim (as buffers like position_ids have) and a broadcast within the storage's size
        var t = TorchCheckpoint.Read(Write("ok1.pth", CraftedPth.Zip("w", 4, 0, [1, 4], [0, 1]))).Tensors["w"];
        Assert.Equal([1f, 2f, 3f, 4f], t.Floats!);
        var u = TorchCheckpoint.Read(Write("ok2.pth", CraftedPth.Zip("w", 4, 0, [2, 2], [0, 1]))).Tensors["w"];
        Assert.Equal([1f, 2f, 1f, 2f], u.Floats!);
    }

    [Fact]
    public void OffsetsAndStridesThatOverflowALongAreRefused()
    {
        var path = Write("overflow.pth", CraftedPth.Zip("w", 4, long.MaxValue - 10, [2], [100]));
        var m = Refused<TorchCheckpointFormatException>(() => TorchCheckpoint.Read(path));
        Assert.Contains("size (2) with stride (100) at offset 9223372036854775797 reaches past element 9223372036854775807, but storage '0' holds 4 elements", m, StringComparison.Ordinal);
    }

    [Fact]
    public void SafetensorsHeadersAreCheckedAgainstTheDataAndTheLimits()
    {
        static byte[] File(string header, int dataBytes)
        {
            var h = Encoding.UTF8.GetBytes(header);
            return [.. BitConverter.GetBytes((ulong)h.Length), .. h, .. new byte[dataBytes]];
        }
        var huge = File("""{"w":{"dtype":"F32","shape":[32768,32768],"data_offsets":[0,4]}}""", 4);
        Assert.Contains("tensor 'w': shape [32768, 32768] of F32 needs 4294967296 bytes but data_offsets [0, 4] hold 4 bytes",
            Refused<SafeTensorsFormatException>(() => SafeTensors.Parse(huge, "h.safetensors")), StringComparison.Ordinal);
        var over = File("""{"w":{"dtype":"F32","shape":[46341,46341],"data_offsets":[0,4]}}""", 4);
        Assert.Contains("has more than 2147483647 elements", Refused<SafeTensorsFormatException>(() => SafeTensors.Parse(over, "o.safetensors")), StringComparison.Ordinal);
        var wrongShape = File("""{"features.0.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}""", 16);
        Assert.Equal("w.safetensors: tensor 'features.0.weight': shape (2, 2), expected (*, *, 11, 11)",
            Refused<SafeTensorsFormatException>(() => SafeTensors.Parse(wrongShape, "w.safetensors", PretrainedWeights.Limits)));
        var capped = File("""{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 16);
        Assert.Contains("shape (4) has more than 3 elements", Refused<SafeTensorsFormatException>(() => SafeTensors.Parse(capped, "c.safetensors", new TensorLimits { MaxElements = 3 })), StringComparison.Ordinal);
    }
}
