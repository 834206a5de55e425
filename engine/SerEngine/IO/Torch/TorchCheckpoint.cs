namespace SerEngine.IO.Torch;

/// <summary>
/// A file that is not a readable PyTorch state dict, or one that names something other than
/// state-dict types. The one-line message reads "FILE: PLACE: PROBLEM", where PLACE is a zip entry
/// or a byte offset (for pickles, the offset of the opcode) and PROBLEM says what was expected and
/// what was found.
/// </summary>
public sealed class TorchCheckpointFormatException(string message) : FormatException(message.ReplaceLineEndings(" "));

/// <summary>The tensors of a PyTorch checkpoint.</summary>
public sealed class TorchCheckpointFile
{
    /// <summary>Tensors by state-dict name, in the checkpoint's order: floating-point tensors as
    /// Float32 (float64, float16 and bfloat16 converted), integer and bool tensors as Int32 (int64
    /// range-checked).</summary>
    public required IReadOnlyDictionary<string, HostTensor> Tensors { get; init; }

    /// <summary><c>zip</c> (torch.save since PyTorch 1.6) or <c>legacy</c> (<c>_use_new_zipfile_serialization=False</c>).</summary>
    public required string Format { get; init; }

    /// <summary>Where the state dict was found: empty for the top level, else the key (<c>state_dict</c> or <c>model</c>).</summary>
    public required string Key { get; init; }
}

/// <summary>
/// Reads <c>torch.save</c> files without Python: the zip format (<c>ARCHIVE/data.pkl</c>,
/// <c>ARCHIVE/data/KEY</c> storages) and the legacy stream (magic number, protocol, system info,
/// the pickle, the storage keys, the raw storages). The pickle is run by a restricted unpickler
/// that knows only state-dict types (OrderedDict, tensors and parameters rebuilt from typed
/// storages); any other global, such as <c>os.system</c>, is refused before anything is built, and
/// nothing is ever executed. The top-level object must be a dict of tensors, or a dict holding one
/// such dict under <c>state_dict</c> or <c>model</c>. Views keep their storage offset, sizes and
/// strides (non-contiguous tensors are copied in logical order); storages shared by several tensors
/// are read once. Little-endian data only.
/// </summary>
public static class TorchCheckpoint
{
    /// <summary>Bytes <see cref="IsTorchCheckpoint"/> looks at.</summary>
    public const int SniffLength = 4;

    /// <summary>
    /// Reads a checkpoint; throws <see cref="TorchCheckpointFormatException"/> for malformed or
    /// disallowed input. Every tensor is checked against <paramref name="limits"/> (default:
    /// <see cref="TensorLimits.Default"/>, at most 2^28 elements) and must not have more elements
    /// than its storage holds (no stride-0 or overlapping views) before it is materialised.
    /// </summary>
    public static TorchCheckpointFile Read(string path, TensorLimits? limits = null)
    {
        limits ??= TensorLimits.Default;
        var head = new byte[SniffLength];
        int n;
        using (var fs = File.OpenRead(path)) n = fs.ReadAtLeast(head, SniffLength, throwOnEndOfStream: false);
        if (n >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4) return TorchZipContainer.Read(path, limits);
        if (n >= 2 && head[0] == 0x80) return TorchLegacyContainer.Read(path, limits);
        throw new TorchCheckpointFormatException($"{path}: byte 0: expected a zip archive (\"PK\\x03\\x04\") or a pickle (0x80), found {Hex(head.AsSpan(0, n))}");
    }

    /// <summary>Whether <paramref name="head"/> (the first bytes of a file) starts like a torch.save file: a zip or a pickle.</summary>
    public static bool IsTorchCheckpoint(ReadOnlySpan<byte> head) =>
        head.StartsWith("PK\u0003\u0004"u8) || (head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5);

    private static string Hex(ReadOnlySpan<byte> b) => b.Length == 0 ? "an empty file" : string.Join(" ", b.ToArray().Select(x => $"{x:x2}"));

    /// <summary>
    /// The state dict inside an unpickled top-level object: the object itself when it is a dict of
    /// tensors, else the one dict of tensors under <c>state_dict</c> or <c>model</c>.
    /// </summary>
    internal static (string Key, List<KeyValuePair<string, TensorRef>> Tensors) SelectStateDict(object? root, string source)
    {
        if (root is not PyDict top)
            throw new TorchCheckpointFormatException($"{source}: top level: expected a state dict (a dict of tensors), found a {TorchGlobals.TypeName(root)}");
        if (StateDict(top, out var problem) is { } direct) return ("", direct);
        var found = new List<(string Key, List<KeyValuePair<string, TensorRef>> Tensors)>();
        foreach (var key in new[] { "state_dict", "model" })
            if (top.TryGet(key, out var v) && v is PyDict inner && StateDict(inner, out _) is { } sd) found.Add((key, sd));
        if (found.Count == 1) return found[0];
        if (found.Count > 1)
            throw new TorchCheckpointFormatException($"{source}: top level: expected one state dict, found two (under 'state_dict' and 'model')");
        var keys = string.Join(", ", top.Items.Take(8).Select(kv => kv.Key is string s ? $"'{TorchGlobals.Printable(s)}'" : TorchGlobals.TypeName(kv.Key)));
        throw new TorchCheckpointFormatException($"{source}: top level: expected a dict of tensors or one under 'state_dict'/'model', found a dict with keys {keys}{(top.Items.Count > 8 ? ", ..." : "")} ({problem})");
    }

    private static List<KeyValuePair<string, TensorRef>>? StateDict(PyDict d, out string problem)
    {
        var r = new List<KeyValuePair<string, TensorRef>>(d.Items.Count);
        foreach (var (k, v) in d.Items)
        {
            if (k is not string name) { problem = $"a key is a {TorchGlobals.TypeName(k)}, not a str"; return null; }
            if (v is not TensorRef t) { problem = $"'{TorchGlobals.Printable(name)}' is a {TorchGlobals.TypeName(v)}, not a tensor"; return null; }
            r.Add(new(name, t));
        }
        problem = "it holds no tensors";
        return r.Count > 0 ? r : null;
    }

    /// <summary>
    /// A persistent id <c>('storage', StorageClass, key, location, numel[, view_metadata])</c> as a
    /// <see cref="StorageRef"/>; the same key seen again must name the same storage.
    /// </summary>
    internal static StorageRef ParseStorageId(object? pid, bool legacy, Dictionary<string, StorageRef> seen)
    {
        int want = legacy ? 6 : 5;
        if (pid is not PyTuple { Items: var a } || a.Length != want || a[0] is not "storage")
            throw new PickleRefusal($"persistent id must be a {want}-tuple ('storage', type, key, location, numel{(legacy ? ", view" : "")}), found a {TorchGlobals.TypeName(pid)}{(pid is PyTuple t ? $" of {t.Items.Length}" : "")}");
        if (a[1] is not PyGlobal { Kind: TorchGlobalKind.Storage, Storage: { } type })
            throw new PickleRefusal($"persistent id names {TorchGlobals.TypeName(a[1])}, not a storage class");
        if (a[2] is not string key || key.Length is 0 or > 64 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new PickleRefusal($"storage key {(a[2] is string s ? $"'{TorchGlobals.Printable(s)}'" : TorchGlobals.TypeName(a[2]))} is not 1 to 64 letters, digits or '_'");
        if (a[3] is not string) throw new PickleRefusal($"storage '{key}': location is a {TorchGlobals.TypeName(a[3])}, not a str");
        if (a[4] is not long numel || numel < 0 || numel > Array.MaxLength / type.ElementSize)
            throw new PickleRefusal($"storage '{key}': element count {(a[4] is long x ? x.ToString(System.Globalization.CultureInfo.InvariantCulture) : TorchGlobals.TypeName(a[4]))} is not an int in [0, {Array.MaxLength / type.ElementSize}]");
        if (legacy && a[5] is not null) throw new PickleRefusal($"storage '{key}': storage views (view_metadata, PyTorch < 0.4) are not supported");
        var r = new StorageRef(key, type, numel);
        if (seen.TryGetValue(key, out var before))
        {
            if (before != r) throw new PickleRefusal($"storage '{key}' is named as {before.Type.Name} of {before.Numel} and as {type.Name} of {numel}");
            return before;
        }
        seen[key] = r;
        return r;
    }
}
