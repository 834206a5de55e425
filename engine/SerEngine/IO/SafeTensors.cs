namespace SerEngine.IO;

/// <summary>The contents of a safetensors file: tensors in file order and the string metadata.</summary>
public sealed class SafeTensorsFile
{
    /// <summary>Tensors by name, in the order of their data offsets.</summary>
    public required IReadOnlyDictionary<string, HostTensor> Tensors { get; init; }

    /// <summary>The <c>__metadata__</c> strings (empty when absent).</summary>
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
}

/// <summary>A file that is not valid safetensors; the one-line message names the file and the problem.</summary>
public sealed class SafeTensorsFormatException(string message) : FormatException(message);

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}</c>), then
/// the raw little-endian data area. Reading accepts F32, F64, F16, BF16 (into Float32) and I32, I64
/// (into Int32, range-checked); writing produces F32 and I64. See <see cref="SafeTensorsReader"/>
/// and <see cref="SafeTensorsWriter"/>.
/// </summary>
public static class SafeTensors
{
    /// <summary>Reads a file; throws <see cref="SafeTensorsFormatException"/> for malformed input.</summary>
    public static SafeTensorsFile Read(string path) => SafeTensorsReader.Read(path);

    /// <summary>Parses bytes; <paramref name="source"/> names them in errors.</summary>
    public static SafeTensorsFile Parse(ReadOnlySpan<byte> data, string source) => SafeTensorsReader.Parse(data, source);

    /// <summary>
    /// Reads a file whose tensors must satisfy <paramref name="limits"/> (expected shapes, element
    /// cap), checked from the header before any tensor is decoded.
    /// </summary>
    public static SafeTensorsFile Read(string path, TensorLimits limits) => SafeTensorsReader.Read(path, limits);

    /// <summary>Parses bytes whose tensors must satisfy <paramref name="limits"/> (see <see cref="Read(string, TensorLimits)"/>).</summary>
    public static SafeTensorsFile Parse(ReadOnlySpan<byte> data, string source, TensorLimits limits) => SafeTensorsReader.Parse(data, source, limits);

    /// <summary>Writes a file atomically (temp file + rename). Float tensors as F32, integer tensors as I64.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafeTensorsWriter.Write(path, tensors, metadata);

    /// <summary>The bytes <see cref="Write"/> would put in a file.</summary>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafeTensorsWriter.Serialize(tensors, metadata);
}
