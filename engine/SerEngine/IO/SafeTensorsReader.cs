using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace SerEngine.IO;

/// <summary>
/// Parses safetensors bytes. Every check happens before any tensor data is decoded, and every
/// failure is a <see cref="SafeTensorsFormatException"/> with a one-line message
/// <c>"SOURCE: PROBLEM"</c>. Layout rules enforced: the header length fits in the file, the header
/// is a JSON object, each entry has a known dtype, a shape of non-negative integers and
/// <c>data_offsets [begin, end]</c> inside the data area, the byte count matches the shape, names
/// are unique, and the entries tile the data area exactly (no overlap, no gap, nothing left over).
/// </summary>
internal static class SafeTensorsReader
{
    /// <summary>The dtypes this reader accepts, with their element sizes in bytes.</summary>
    public static IReadOnlyDictionary<string, int> DTypeSizes { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["F32"] = 4, ["F64"] = 8, ["F16"] = 2, ["BF16"] = 2, ["I32"] = 4, ["I64"] = 8,
    };

    private const string MetadataKey = "__metadata__";

    /// <summary>One header entry, validated.</summary>
    private sealed record Entry(string Name, string DType, int[] Dims, long Begin, long End);

    /// <summary>Reads and parses a file; <paramref name="path"/> names it in errors; <paramref name="limits"/> (optional) are checked before decoding.</summary>
    public static SafeTensorsFile Read(string path, TensorLimits? limits = null)
    {
        var length = new FileInfo(path).Length;
        if (length > Array.MaxLength)
            throw new IOException($"{path}: {length} bytes is more than this reader loads at once ({Array.MaxLength})");
        return Parse(File.ReadAllBytes(path), path, limits);
    }

    /// <summary>Parses bytes; <paramref name="source"/> names them in errors; <paramref name="limits"/> (optional) are checked before decoding.</summary>
    public static SafeTensorsFile Parse(ReadOnlySpan<byte> data, string source, TensorLimits? limits = null)
    {
        if (data.Length < 8)
            throw Fail(source, $"file is {data.Length} bytes, shorter than the 8-byte header length field");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(data);
        long available = data.Length - 8L;
        if (headerLength > (ulong)available)
            throw Fail(source, $"header length {headerLength} runs past the end of the file ({data.Length} bytes, {available} after the length field)");
        var header = data.Slice(8, (int)headerLength);
        var body = data[(8 + (int)headerLength)..];

        var (entries, metadata) = ParseHeader(header, source);
        foreach (var e in entries)
        {
            if (limits?.Check(e.Name, Array.ConvertAll(e.Dims, d => (long)d)) is { } problem)
                throw Fail(source, $"tensor '{e.Name}': {problem}");
            CheckEntry(e, body.Length, source);
        }
        var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        CheckTiling(ordered, body.Length, source);

        var tensors = new OrderedDictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (var e in ordered)
            tensors.Add(e.Name, Decode(e, body[(int)e.Begin..(int)e.End], source));
        return new SafeTensorsFile { Tensors = tensors, Metadata = metadata };
    }

    private static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(ReadOnlySpan<byte> header, string source)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException ex)
        {
            throw Fail(source, $"header is not valid JSON: {ex.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Fail(source, $"header is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object");
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in root.EnumerateObject())
            {
                if (!seen.Add(prop.Name))
                    throw Fail(source, prop.Name == MetadataKey ? "__metadata__ appears twice" : $"duplicate tensor name '{prop.Name}'");
                if (prop.Name == MetadataKey) ReadMetadata(prop.Value, metadata, source);
                else entries.Add(ReadEntry(prop.Name, prop.Value, source));
            }
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail(source, $"__metadata__ is a JSON {value.ValueKind.ToString().ToLowerInvariant()}, not an object of strings");
        foreach (var kv in value.EnumerateObject())
        {
            if (kv.Value.ValueKind != JsonValueKind.String)
                throw Fail(source, $"__metadata__ value for '{kv.Name}' is a JSON {kv.Value.ValueKind.ToString().ToLowerInvariant()}, not a string");
            if (!metadata.TryAdd(kv.Name, kv.Value.GetString()!))
                throw Fail(source, $"__metadata__ key '{kv.Name}' appears twice");
        }
    }

    private static Entry ReadEntry(string name, JsonElement value, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail(source, $"tensor '{name}': entry is a JSON {value.ValueKind.ToString().ToLowerInvariant()}, not an object");

        if (!value.TryGetProperty("dtype", out var dtypeEl))
            throw Fail(source, $"tensor '{name}': missing dtype");
        if (dtypeEl.ValueKind != JsonValueKind.String)
            throw Fail(source, $"tensor '{name}': dtype {dtypeEl.GetRawText()} is not a string");
        var dtype = dtypeEl.GetString()!;
        if (!DTypeSizes.ContainsKey(dtype))
            throw Fail(source, $"tensor '{name}': unknown dtype '{dtype}' (supported: {string.Join(", ", DTypeSizes.Keys)})");

        if (!value.TryGetProperty("shape", out var shapeEl))
            throw Fail(source, $"tensor '{name}': missing shape");
        if (shapeEl.ValueKind != JsonValueKind.Array)
            throw Fail(source, $"tensor '{name}': invalid shape {shapeEl.GetRawText()} (need an array of non-negative integers)");
        var dims = new int[shapeEl.GetArrayLength()];
        long elements = 1;
        int i = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
                throw Fail(source, $"tensor '{name}': invalid shape {shapeEl.GetRawText()} (need an array of non-negative integers)");
            dims[i++] = dim;
            elements *= dim;
            if (elements > int.MaxValue)
                throw Fail(source, $"tensor '{name}': shape {shapeEl.GetRawText()} has more than {int.MaxValue} elements");
        }

        if (!value.TryGetProperty("data_offsets", out var offEl))
            throw Fail(source, $"tensor '{name}': missing data_offsets");
        if (offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2
            || !offEl[0].TryGetInt64(out long begin) || !offEl[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw Fail(source, $"tensor '{name}': invalid data_offsets {offEl.GetRawText()} (need [begin, end] with 0 <= begin <= end)");
        return new Entry(name, dtype, dims, begin, end);
    }

    private static void CheckEntry(Entry e, int bodyLength, string source)
    {
        if (e.End > bodyLength)
            throw Fail(source, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] run past the end of the data area ({bodyLength} bytes)");
        long expected = (long)DTypeSizes[e.DType] * new Shape(e.Dims).Size;
        long found = e.End - e.Begin;
        if (expected != found)
            throw Fail(source, $"tensor '{e.Name}': shape {new Shape(e.Dims)} of {e.DType} needs {expected} bytes but data_offsets [{e.Begin}, {e.End}] hold {found} bytes");
    }

    /// <summary>Sorted by begin, the entries must cover [0, bodyLength) exactly once.</summary>
    private static void CheckTiling(List<Entry> ordered, int bodyLength, string source)
    {
        long pos = 0;
        Entry? previous = null;
        foreach (var e in ordered)
        {
            if (e.Begin < pos)
                throw Fail(source, $"tensors '{previous!.Name}' [{previous.Begin}, {previous.End}) and '{e.Name}' [{e.Begin}, {e.End}) overlap");
            if (e.Begin > pos)
                throw Fail(source, $"bytes [{pos}, {e.Begin}) of the data area belong to no tensor");
            pos = e.End;
            previous = e;
        }
        if (pos != bodyLength)
            throw Fail(source, $"bytes [{pos}, {bodyLength}) of the data area belong to no tensor (the tensors cover {pos} of {bodyLength} bytes)");
    }

    private static HostTensor Decode(Entry e, ReadOnlySpan<byte> bytes, string source)
    {
        var shape = new Shape(e.Dims);
        int n = shape.Size;
        switch (e.DType)
        {
            case "F32":
            {
                var a = new float[n];
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(bytes).CopyTo(a);
                else for (int i = 0; i < n; i++) a[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                return new HostTensor(shape, a);
            }
            case "F64":
            {
                var a = new float[n];
                for (int i = 0; i < n; i++) a[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
                return new HostTensor(shape, a);
            }
            case "F16":
            {
                var a = new float[n];
                for (int i = 0; i < n; i++) a[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
                return new HostTensor(shape, a);
            }
            case "BF16":
            {
                var a = new float[n];
                for (int i = 0; i < n; i++) a[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16);
                return new HostTensor(shape, a);
            }
            case "I32":
            {
                var a = new int[n];
                for (int i = 0; i < n; i++) a[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]);
                return new HostTensor(shape, a);
            }
            default: // I64
            {
                var a = new int[n];
                for (int i = 0; i < n; i++)
                {
                    long v = BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]);
                    if (v is < int.MinValue or > int.MaxValue)
                        throw Fail(source, $"tensor '{e.Name}': I64 value {v} at index {i} does not fit in Int32");
                    a[i] = (int)v;
                }
                return new HostTensor(shape, a);
            }
        }
    }

    private static SafeTensorsFormatException Fail(string source, string problem) =>
        new($"{source}: {problem}".ReplaceLineEndings(" "));
}
