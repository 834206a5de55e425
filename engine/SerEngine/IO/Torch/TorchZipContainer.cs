using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace SerEngine.IO.Torch;

/// <summary>
/// The zip container of <c>torch.save</c> (PyTorch 1.6 and later): <c>ARCHIVE/data.pkl</c> (the
/// pickle), <c>ARCHIVE/data/KEY</c> (one raw storage per key), <c>ARCHIVE/version</c> and, since
/// PyTorch 2.1, <c>ARCHIVE/byteorder</c>. Entries are normally stored; deflated ones are accepted.
/// Guards: entry names must be plain relative paths, unique; data.pkl is at most
/// <see cref="MaxPickleBytes"/>; a storage entry must hold exactly the bytes its persistent id
/// declares; a deflated entry may expand at most <see cref="MaxExpansion"/> times (zip bombs).
/// </summary>
internal static class TorchZipContainer
{
    /// <summary>Largest data.pkl accepted.</summary>
    public const long MaxPickleBytes = 64L << 20;

    /// <summary>Largest uncompressed/compressed ratio of a deflated entry above 1 MiB.</summary>
    public const long MaxExpansion = 200;

    public static TorchCheckpointFile Read(string path, TensorLimits limits)
    {
        using var fs = File.OpenRead(path);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(fs, ZipArchiveMode.Read);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            throw Fail(path, "zip directory", $"expected a readable zip archive, found a damaged or truncated one ({ex.Message})");
        }
        using (zip)
        {
            var entries = Index(zip, path);
            var pklName = FindPickle(entries, path);
            var prefix = pklName[..^"data.pkl".Length];
            if (entries.TryGetValue(prefix + "byteorder", out var order))
            {
                var text = Encoding.ASCII.GetString(ReadEntry(order, 16, path, "byteorder", exact: false)).Trim();
                if (text != "little") throw Fail(path, order.FullName, $"expected byte order 'little', found '{TorchGlobals.Printable(text)}'");
            }
            var pkl = ReadEntry(entries[pklName], MaxPickleBytes, path, "data.pkl", exact: false);
            var seen = new Dictionary<string, StorageRef>(StringComparer.Ordinal);
            var machine = new PickleMachine(pkl, 0, pkl.Length, path, pklName, pid => TorchCheckpoint.ParseStorageId(pid, legacy: false, seen));
            var root = machine.Load();
            if (machine.Position != pkl.Length)
                throw Fail(path, $"{pklName} at byte {machine.Position}", $"expected the end of the pickle after STOP, found {pkl.Length - machine.Position} more bytes");

            var (key, selected) = TorchCheckpoint.SelectStateDict(root, path);
            var storages = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            var tensors = new OrderedDictionary<string, HostTensor>(StringComparer.Ordinal);
            foreach (var (name, t) in selected)
            {
                TorchTensorRebuild.Check(t, name, path, limits); // before its storage is read or a single element copied
                if (!storages.TryGetValue(t.Storage.Key, out var bytes))
                {
                    var entryName = $"{prefix}data/{t.Storage.Key}";
                    if (!entries.TryGetValue(entryName, out var entry))
                        throw Fail(path, entryName, $"tensor '{TorchGlobals.Printable(name)}' needs storage '{t.Storage.Key}', but the archive has no such entry");
                    bytes = ReadEntry(entry, t.Storage.Numel * t.Storage.Type.ElementSize, path, $"storage '{t.Storage.Key}' ({t.Storage.Numel} × {t.Storage.Type.Name})", exact: true);
                    storages[t.Storage.Key] = bytes;
                }
                tensors.Add(name, TorchTensorRebuild.Materialize(t, bytes, name, path));
            }
            return new TorchCheckpointFile { Tensors = tensors, Format = "zip", Key = key };
        }
    }

    /// <summary>Entries by name, each a plain relative path (no '..', no leading '/', no '\' or ':').</summary>
    private static Dictionary<string, ZipArchiveEntry> Index(ZipArchive zip, string path)
    {
        var d = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        IReadOnlyCollection<ZipArchiveEntry> all;
        try
        {
            all = zip.Entries;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            throw Fail(path, "zip directory", $"expected a readable list of entries, found a damaged one ({ex.Message})");
        }
        foreach (var e in all)
        {
            var n = e.FullName;
            if (n.Length == 0 || n.StartsWith('/') || n.Contains('\\') || n.Contains(':') || n.Contains('\0') || n.Split('/').Any(p => p is ".." or "."))
                throw Fail(path, $"entry '{TorchGlobals.Printable(n)}'", "expected a plain relative entry name, found a path with '..', '.', a leading '/', '\\' or ':'");
            if (!d.TryAdd(n, e)) throw Fail(path, $"entry '{TorchGlobals.Printable(n)}'", "expected unique entry names, found this one twice");
        }
        return d;
    }

    private static string FindPickle(Dictionary<string, ZipArchiveEntry> entries, string path)
    {
        var pkls = entries.Keys.Where(n => n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/', StringComparison.Ordinal) == n.Length - "/data.pkl".Length).ToList();
        if (pkls.Count == 1) return pkls[0];
        throw Fail(path, "zip directory", pkls.Count == 0
            ? $"expected an entry ARCHIVE/data.pkl (torch.save layout), found none among {entries.Count} entries{(entries.Count > 0 ? $" (first: '{TorchGlobals.Printable(entries.Keys.First())}')" : "")}"
            : $"expected one ARCHIVE/data.pkl entry, found {pkls.Count}");
    }

    /// <summary>The bytes of <paramref name="e"/>: at most <paramref name="max"/> (exactly that many when <paramref name="exact"/>).</summary>
    private static byte[] ReadEntry(ZipArchiveEntry e, long max, string path, string what, bool exact)
    {
        long declared = e.Length;
        if (exact ? declared != max : declared > max)
            throw Fail(path, e.FullName, string.Create(CultureInfo.InvariantCulture,
                $"{what}: expected {(exact ? "" : "at most ")}{max} bytes, found an entry of {declared}"));
        if (declared > 1 << 20 && declared > e.CompressedLength * MaxExpansion)
            throw Fail(path, e.FullName, string.Create(CultureInfo.InvariantCulture,
                $"{what}: {e.CompressedLength} compressed bytes expand to {declared} (more than {MaxExpansion} times: a zip bomb?)"));
        var buffer = new byte[declared];
        try
        {
            using var s = e.Open();
            int got = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (got != buffer.Length)
                throw Fail(path, e.FullName, $"{what}: expected {declared} bytes, found {got} (truncated)");
            if (s.ReadByte() >= 0) throw Fail(path, e.FullName, $"{what}: the entry holds more than the {declared} bytes its header declares");
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or NotSupportedException)
        {
            throw Fail(path, e.FullName, $"{what}: expected readable entry data, found a damaged entry ({ex.Message})");
        }
        return buffer;
    }

    private static TorchCheckpointFormatException Fail(string path, string place, string problem) => new($"{path}: {place}: {problem}");
}
