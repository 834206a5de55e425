using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SerEngine.IO;

/// <summary>
/// Writes safetensors: Float32 tensors as F32, Int32 tensors as I64, in the order given, with
/// <c>__metadata__</c> first when metadata is given. The JSON header is padded with spaces so the
/// data area starts at a multiple of 8 bytes. Files are written to <c>PATH.tmp-RANDOM</c>, flushed
/// to disk, then renamed over <c>PATH</c>, so a reader never sees a half-written file.
/// </summary>
internal static class SafeTensorsWriter
{
    private sealed record Item(string Name, HostTensor Tensor, long Begin, long End);

    /// <summary>Writes a file atomically (temp file + rename).</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var (header, items) = Layout(tensors, metadata);
        var full = Path.GetFullPath(path);
        var tmp = $"{full}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                WriteTo(fs, header, items);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            if (File.Exists(tmp)) File.Delete(tmp);
            throw;
        }
    }

    /// <summary>The bytes of a file holding <paramref name="tensors"/>.</summary>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var (header, items) = Layout(tensors, metadata);
        using var ms = new MemoryStream();
        WriteTo(ms, header, items);
        return ms.ToArray();
    }

    /// <summary>Assigns data offsets and builds the padded JSON header.</summary>
    private static (byte[] Header, List<Item> Items) Layout(IEnumerable<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var items = new List<Item>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            if (name == "__metadata__") throw new ArgumentException("safetensors: '__metadata__' cannot be a tensor name", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"safetensors: duplicate tensor name '{name}'", nameof(tensors));
            long bytes = (long)t.Shape.Size * (t.DType == DType.Float32 ? 4 : 8);
            items.Add(new Item(name, t, offset, offset + bytes));
            offset += bytes;
        }

        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is not null)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var it in items)
            {
                w.WriteStartObject(it.Name);
                w.WriteString("dtype", it.Tensor.DType == DType.Float32 ? "F32" : "I64");
                w.WriteStartArray("shape");
                foreach (var d in it.Tensor.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(it.Begin);
                w.WriteNumberValue(it.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int length = (int)json.Length;
        int padded = (length + 7) / 8 * 8;
        var header = new byte[padded];
        json.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return (header, items);
    }

    private static void WriteTo(Stream s, byte[] header, List<Item> items)
    {
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        s.Write(len);
        s.Write(header);
        foreach (var it in items)
        {
            if (it.Tensor.Floats is { } f) WriteF32(s, f);
            else WriteI64(s, it.Tensor.Ints!);
        }
    }

    private static void WriteF32(Stream s, float[] values)
    {
        if (BitConverter.IsLittleEndian)
        {
            s.Write(MemoryMarshal.AsBytes(values.AsSpan()));
            return;
        }
        var buf = new byte[4];
        foreach (var v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(buf, v);
            s.Write(buf);
        }
    }

    private static void WriteI64(Stream s, int[] values)
    {
        const int chunk = 4096;
        var buf = new byte[8 * chunk];
        for (int start = 0; start < values.Length; start += chunk)
        {
            int n = Math.Min(chunk, values.Length - start);
            for (int i = 0; i < n; i++) BinaryPrimitives.WriteInt64LittleEndian(buf.AsSpan(8 * i), values[start + i]);
            s.Write(buf, 0, 8 * n);
        }
    }
}
