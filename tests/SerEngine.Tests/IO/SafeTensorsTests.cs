using System.Buffers.Binary;
using System.Text;
using SerEngine.Conformance;
using SerEngine.IO;

namespace SerEngine.Tests.IO;

public class SafeTensorsTests
{
    private const string Source = "case.safetensors";

    private static byte[] Build(string header, int dataBytes = 0)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    private static byte[] Build(string header, byte[] data)
    {
        var bytes = Build(header, data.Length);
        data.CopyTo(bytes, bytes.Length - data.Length);
        return bytes;
    }

    private static SafeTensorsFormatException AssertMalformed(byte[] bytes, params string[] phrases)
    {
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Parse(bytes, Source));
        Assert.StartsWith(Source + ": ", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain('\r', ex.Message);
        foreach (var p in phrases) Assert.Contains(p, ex.Message);
        return ex;
    }

    private static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "serengine-st-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void RoundTripKeepsValuesShapesOrderAndMetadata()
    {
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "t.safetensors");
            var floats = new HostTensor(new Shape(2, 3), [1.5f, -2.25f, float.MaxValue, float.Epsilon, -0f, 1e-30f]);
            var ints = new HostTensor(new Shape(4), [0, -1, int.MaxValue, int.MinValue]);
            var scalar = new HostTensor(Shape.Scalar, [42f]);
            var empty = new HostTensor(new Shape(0, 5), Array.Empty<float>());
            var meta = new Dictionary<string, string> { ["kind"] = "op", ["params"] = "{\"a\": [1, 2]}", ["note"] = "äöü <&>" };
            KeyValuePair<string, HostTensor>[] tensors = [new("z.first", floats), new("a.labels", ints), new("m.scalar", scalar), new("e.empty", empty)];

            File.WriteAllText(path, "old contents");
            SafeTensors.Write(path, tensors, meta);

            var back = SafeTensors.Read(path);
            Assert.Equal(["z.first", "a.labels", "m.scalar", "e.empty"], back.Tensors.Keys);
            Assert.Equal(meta, back.Metadata);
            Assert.Equal(floats.Shape, back.Tensors["z.first"].Shape);
            Assert.Equal(floats.Floats, back.Tensors["z.first"].Floats);
            Assert.Equal(DType.Int32, back.Tensors["a.labels"].DType);
            Assert.Equal(ints.Ints, back.Tensors["a.labels"].Ints);
            Assert.Equal(Shape.Scalar, back.Tensors["m.scalar"].Shape);
            Assert.Equal([42f], back.Tensors["m.scalar"].Floats!);
            Assert.Equal(new Shape(0, 5), back.Tensors["e.empty"].Shape);

            // the file is the serialized bytes; header padded with spaces to 8 bytes; ints stored as I64
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(SafeTensors.Serialize(tensors, meta), bytes);
            int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0, headerLength % 8);
            var header = Encoding.UTF8.GetString(bytes, 8, headerLength);
            Assert.StartsWith("{\"__metadata__\":", header);
            Assert.Contains("\"a.labels\":{\"dtype\":\"I64\",\"shape\":[4],\"data_offsets\":[24,56]}", header);
            Assert.Matches("} *$", header);
            Assert.Equal(8 + headerLength + 6 * 4 + 4 * 8 + 4, bytes.Length);

            Assert.Equal(["t.safetensors"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void WriteWithoutMetadataOmitsIt()
    {
        var bytes = SafeTensors.Serialize([new("x", new HostTensor(new Shape(1), [3f]))]);
        Assert.DoesNotContain("__metadata__", Encoding.UTF8.GetString(bytes));
        var back = SafeTensors.Parse(bytes, Source);
        Assert.Empty(back.Metadata);
        Assert.Equal([3f], back.Tensors["x"].Floats!);
    }

    [Fact]
    public void WriteRefusesDuplicateAndReservedNames()
    {
        var t = new HostTensor(new Shape(1), [1f]);
        Assert.Contains("duplicate tensor name 'x'", Assert.Throws<ArgumentException>(() => SafeTensors.Serialize([new("x", t), new("x", t)])).Message);
        Assert.Contains("__metadata__", Assert.Throws<ArgumentException>(() => SafeTensors.Serialize([new("__metadata__", t)])).Message);
    }

    [Fact]
    public void ReadsEveryDtypeIntoFloat32OrInt32()
    {
        var data = new byte[8 + 2 + 2 + 4 + 8];
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(0), -0.1);
        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(8), (Half)1.5);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(10), 0x4049); // bf16 3.140625
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(12), -7);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(16), 123456789);
        var header = """
            {"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"h":{"dtype":"F16","shape":[1],"data_offsets":[8,10]},
             "b":{"dtype":"BF16","shape":[1],"data_offsets":[10,12]},"i":{"dtype":"I32","shape":[1],"data_offsets":[12,16]},
             "l":{"dtype":"I64","shape":[1,1],"data_offsets":[16,24]}}
            """;
        var f = SafeTensors.Parse(Build(header, data), Source);
        Assert.Equal([(float)-0.1], f.Tensors["d"].Floats!);
        Assert.Equal([1.5f], f.Tensors["h"].Floats!);
        Assert.Equal([3.140625f], f.Tensors["b"].Floats!);
        Assert.Equal([-7], f.Tensors["i"].Ints!);
        Assert.Equal([123456789], f.Tensors["l"].Ints!);
        Assert.Equal(new Shape(1, 1), f.Tensors["l"].Shape);
    }

    [Fact]
    public void I64OutsideInt32IsAnError()
    {
        var data = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), 1L << 40);
        AssertMalformed(Build("""{"labels":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}""", data),
            "tensor 'labels'", "1099511627776", "index 1", "Int32");
    }

    [Fact]
    public void FileShorterThanTheLengthField() =>
        AssertMalformed([1, 2, 3, 4, 5], "5 bytes", "shorter than the 8-byte header length");

    [Fact]
    public void HeaderLengthPastTheEndIsRefusedBeforeAllocating()
    {
        var bytes = new byte[24];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1UL << 62);
        AssertMalformed(bytes, "header length 4611686018427387904", "past the end of the file", "24 bytes");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 17);
        AssertMalformed(bytes, "header length 17", "past the end of the file");
    }

    private const string A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}";

    [Theory]
    [InlineData("{\"a\": ", 0, "header is not valid JSON")]
    [InlineData("", 0, "header is not valid JSON")]
    [InlineData("[1, 2]", 0, "header is a JSON array, not an object")]
    [InlineData("{\"a\":[1]}", 0, "tensor 'a': entry is a JSON array")]
    [InlineData("{\"a\":{\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, "tensor 'a': missing dtype")]
    [InlineData("{\"a\":{\"dtype\":5,\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, "tensor 'a': dtype 5 is not a string")]
    [InlineData("{\"a\":{\"dtype\":\"Q8\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, "tensor 'a': unknown dtype 'Q8'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,24]}}", 24, "tensor 'a': missing shape")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,24]}}", 24, "tensor 'a': invalid shape [2,-3]")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,24]}}", 24, "tensor 'a': invalid shape")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":\"2x3\",\"data_offsets\":[0,24]}}", 24, "tensor 'a': invalid shape")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,24]}}", 24, "more than 2147483647 elements")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3]}}", 24, "tensor 'a': missing data_offsets")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0]}}", 24, "tensor 'a': invalid data_offsets [0]")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,0]}}", 24, "tensor 'a': invalid data_offsets")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[-8,16]}}", 24, "tensor 'a': invalid data_offsets")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,48]}}", 24, "tensor 'a': data_offsets [0, 48] run past the end of the data area (24 bytes)")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20, "tensor 'a': shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] hold 20 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"I64\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, "needs 48 bytes", "hold 24 bytes")]
    [InlineData("{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[16,40]}}", 40, "tensors 'a' [0, 24) and 'b' [16, 40) overlap")]
    [InlineData("{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[32,56]}}", 56, "bytes [24, 32) of the data area belong to no tensor")]
    [InlineData("{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, "bytes [0, 8) of the data area belong to no tensor")]
    [InlineData("{" + A + "}", 32, "bytes [24, 32) of the data area belong to no tensor", "cover 24 of 32")]
    [InlineData("{" + A + "," + A + "}", 24, "duplicate tensor name 'a'")]
    [InlineData("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value for 'k' is a JSON number, not a string")]
    [InlineData("{\"__metadata__\":[\"k\"]}", 0, "__metadata__ is a JSON array")]
    public void MalformedHeadersAreRefusedWithTheProblemNamed(string header, int dataBytes, params string[] phrases) =>
        AssertMalformed(Build(header, dataBytes), phrases);

    [Fact]
    public void EmptyFileWithOnlyAHeaderIsValid()
    {
        var f = SafeTensors.Parse(Build("{\"__metadata__\":{\"k\":\"v\"}}  "), Source);
        Assert.Empty(f.Tensors);
        Assert.Equal("v", f.Metadata["k"]);
    }

    [Fact]
    public void ReadNamesTheFileInItsErrors()
    {
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "broken.safetensors");
            File.WriteAllBytes(path, Build("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1));
            var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(path));
            Assert.Equal($"{path}: tensor 'x': unknown dtype 'U8' (supported: F32, F64, F16, BF16, I32, I64)", ex.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ReadsEverySharedFixture()
    {
        var files = SharedFixtures.Files;
        Assert.True(files.Length >= 30, $"expected the 30-odd shared fixtures, found {files.Length}");
        foreach (var path in files)
        {
            var f = SafeTensors.Read(path);
            Assert.Contains(f.Metadata["kind"], new[] { "op", "module", "audio" });
            Assert.NotEmpty(f.Tensors);
            foreach (var (name, t) in f.Tensors)
            {
                Assert.Equal(t.Shape.Size, t.DType == DType.Float32 ? t.Floats!.Length : t.Ints!.Length);
                if (t.Floats is { } v) Assert.True(v.All(float.IsFinite), $"{path}: {name} has a non-finite value");
            }
            var fixture = FixtureLoader.Load(path);
            Assert.Equal(Path.GetFileNameWithoutExtension(path), fixture.Name);
            Assert.True(fixture.Rtol > 0 && fixture.Atol > 0, $"{path}: tolerances {fixture.Rtol}, {fixture.Atol}");
        }

        var softmax = SafeTensors.Read(Path.Combine(SharedFixtures.Directory, "softmax_scaled_biased_masked.safetensors"));
        var mask = softmax.Tensors["in.mask"];
        Assert.Equal(DType.Int32, mask.DType);
        Assert.Equal(new Shape(2, 7), mask.Shape);
        Assert.All(mask.Ints!, m => Assert.True(m is 0 or 1));
        Assert.Contains(0, mask.Ints!);
    }
}
