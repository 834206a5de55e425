namespace SerEngine.IO;

/// <summary>The contents of a safetensors file: tensors in file order and the string metadata.</summary>
public sealed class SafeTensorsFile
{
    /// <summary>Tensors by name, in the order of their data offsets.</summary>
    public required IReadOnlyDictionary<string, HostTensor> Tensors { get; init; }

    /// <summary>The <c>__metadata__</c> strings (empty when absent).</summary>
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
}

/// <summary>A file that is not valid safetensors; the message names the file, offset and problem.</summary>
public sealed class SafeTensorsFormatException(string message) : FormatException(message);

// TODO(stub): reader and writer.
/// <summary>Reads and writes the safetensors format.</summary>
public static class SafeTensors
{
    /// <summary>Reads a file; throws <see cref="SafeTensorsFormatException"/> for malformed input.</summary>
    public static SafeTensorsFile Read(string path) => throw new NotImplementedException();

    /// <summary>Parses bytes; <paramref name="source"/> names them in errors.</summary>
    public static SafeTensorsFile Parse(ReadOnlySpan<byte> data, string source) => throw new NotImplementedException();

    /// <summary>Writes a file atomically (temp file + rename). Float tensors as F32, integer tensors as I64.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, HostTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        throw new NotImplementedException();
}
