using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;

namespace SerEngine.IO.Torch;

/// <summary>
/// The legacy stream of <c>torch.save(..., _use_new_zipfile_serialization=False)</c> (the default
/// before PyTorch 1.6): five pickles in a row (magic number 0x1950a86a20f9469cfc6c, protocol
/// version 1001, system info, the object with persistent ids
/// <c>('storage', type, key, location, numel, None)</c>, the sorted list of storage keys), then for
/// each key an int64 element count and the raw little-endian storage bytes. Every pickle runs on
/// the restricted <see cref="PickleMachine"/>, so a plain hostile pickle is refused at its first
/// forbidden global. The old tar format (PyTorch &lt; 0.4) is not read.
/// </summary>
internal static class TorchLegacyContainer
{
    private static readonly BigInteger Magic = BigInteger.Parse("119547037146038801333356", CultureInfo.InvariantCulture);

    public static TorchCheckpointFile Read(string path, TensorLimits limits)
    {
        long length = new FileInfo(path).Length;
        if (length > Array.MaxLength)
            throw new TorchCheckpointFormatException($"{path}: byte 0: expected a legacy checkpoint of at most {Array.MaxLength} bytes, found {length}");
        var data = File.ReadAllBytes(path);
        int pos = 0;

        var magic = Next(data, ref pos, path, "legacy header pickle", NoPersistentIds);
        if (magic is not BigInteger m || m != Magic)
            throw new TorchCheckpointFormatException($"{path}: byte 0: expected a PyTorch checkpoint (zip, or the legacy magic number 0x1950a86a20f9469cfc6c), found a pickle of a {TorchGlobals.TypeName(magic)}");
        int at = pos;
        var protocol = Next(data, ref pos, path, "legacy header pickle", NoPersistentIds);
        if (protocol is not 1001L)
            throw new TorchCheckpointFormatException($"{path}: byte {at}: expected legacy protocol version 1001, found {Describe(protocol)}");
        at = pos;
        var sysInfo = Next(data, ref pos, path, "legacy header pickle", NoPersistentIds);
        if (sysInfo is not PyDict info)
            throw new TorchCheckpointFormatException($"{path}: byte {at}: expected the system-info dict, found a {TorchGlobals.TypeName(sysInfo)}");
        if (!info.TryGet("little_endian", out var little) || little is not true)
            throw new TorchCheckpointFormatException($"{path}: byte {at}: expected little_endian=True in the system info, found {Describe(little)} (big-endian checkpoints are not supported)");

        var seen = new Dictionary<string, StorageRef>(StringComparer.Ordinal);
        var root = Next(data, ref pos, path, "legacy pickle", pid => TorchCheckpoint.ParseStorageId(pid, legacy: true, seen));
        at = pos;
        var keyList = Next(data, ref pos, path, "legacy storage-key pickle", NoPersistentIds);
        if (keyList is not List<object?> keys || keys.Any(k => k is not string))
            throw new TorchCheckpointFormatException($"{path}: byte {at}: expected the list of storage keys (strings), found a {TorchGlobals.TypeName(keyList)}");

        var storages = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string key in keys.Cast<string>())
        {
            if (!seen.TryGetValue(key, out var sref))
                throw new TorchCheckpointFormatException($"{path}: byte {pos}: storage key '{TorchGlobals.Printable(key)}' is listed but no tensor names it");
            if (storages.ContainsKey(key))
                throw new TorchCheckpointFormatException($"{path}: byte {pos}: storage key '{key}' is listed twice");
            if (data.Length - pos < 8)
                throw new TorchCheckpointFormatException($"{path}: storage '{key}' at byte {pos}: expected an 8-byte element count, found {data.Length - pos} bytes (truncated)");
            long numel = BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(pos));
            if (numel != sref.Numel)
                throw new TorchCheckpointFormatException($"{path}: storage '{key}' at byte {pos}: expected {sref.Numel} elements (from the pickle), found {numel}");
            pos += 8;
            long bytes = numel * sref.Type.ElementSize;
            if (bytes > data.Length - pos)
                throw new TorchCheckpointFormatException($"{path}: storage '{key}' at byte {pos}: expected {bytes} bytes of {sref.Type.Name}, found {data.Length - pos} (truncated)");
            storages[key] = data.AsSpan(pos, (int)bytes).ToArray();
            pos += (int)bytes;
        }
        if (pos != data.Length)
            throw new TorchCheckpointFormatException($"{path}: byte {pos}: expected the end of the file after the last storage, found {data.Length - pos} more bytes");

        var (stateKey, selected) = TorchCheckpoint.SelectStateDict(root, path);
        var tensors = new OrderedDictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (var (name, t) in selected)
        {
            TorchTensorRebuild.Check(t, name, path, limits); // before a single element is copied
            if (!storages.TryGetValue(t.Storage.Key, out var bytes))
                throw new TorchCheckpointFormatException($"{path}: storage keys: tensor '{TorchGlobals.Printable(name)}' needs storage '{t.Storage.Key}', which the file does not list");
            tensors.Add(name, TorchTensorRebuild.Materialize(t, bytes, name, path));
        }
        return new TorchCheckpointFile { Tensors = tensors, Format = "legacy", Key = stateKey };
    }

    private static object? Next(byte[] data, ref int pos, string path, string place, Func<object?, object> persistentLoad)
    {
        if (pos >= data.Length)
            throw new TorchCheckpointFormatException($"{path}: byte {pos}: expected another pickle of the legacy format, found the end of the file (truncated)");
        var machine = new PickleMachine(data, pos, data.Length, path, place, persistentLoad);
        var value = machine.Load();
        pos = machine.Position;
        return value;
    }

    private static object NoPersistentIds(object? pid) => throw new PickleRefusal("a persistent id is not expected in a legacy header pickle");

    private static string Describe(object? v) => v switch
    {
        long or bool => Convert.ToString(v, CultureInfo.InvariantCulture)!,
        _ => $"a {TorchGlobals.TypeName(v)}",
    };
}
