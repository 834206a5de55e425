using System.Security.Cryptography;
using System.Text;

namespace SerEngine.Backends;

/// <summary>
/// On-disk cache of compiled kernel binaries (OpenCL program binaries, CUBIN, PTX), shared by the
/// GPU backends. Entries are named by a SHA-256 key over everything that affects the binary
/// (source, options, device, driver version) plus an extension for the binary kind. Writes go to a
/// temporary file that is then renamed into place, so a reader never sees half a file and parallel
/// processes may write the same entry. I/O failures never fail a build: the cache is best effort.
/// </summary>
/// <remarks>
/// Location: <c>$SERENGINE_KERNEL_CACHE</c> when set (<c>off</c> disables the cache), else
/// <c>$XDG_CACHE_HOME/serengine/kernels</c>, else <c>~/.cache/serengine/kernels</c>.
/// </remarks>
public sealed class KernelDiskCache
{
    /// <summary>Environment variable that moves (a path) or disables (<c>off</c>) the cache.</summary>
    public const string EnvironmentVariable = "SERENGINE_KERNEL_CACHE";

    private int _hits, _misses, _writes;

    /// <summary>A cache rooted at <paramref name="directory"/> (created on first write).</summary>
    public KernelDiskCache(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = Path.GetFullPath(directory);
    }

    /// <summary>Folder holding the entries.</summary>
    public string Directory { get; }

    /// <summary>Lookups that found an entry.</summary>
    public int Hits => Volatile.Read(ref _hits);

    /// <summary>Lookups that found nothing.</summary>
    public int Misses => Volatile.Read(ref _misses);

    /// <summary>Entries written.</summary>
    public int Writes => Volatile.Read(ref _writes);

    /// <summary>The last I/O error swallowed by a write (null when none).</summary>
    public string? LastError { get; private set; }

    /// <summary>
    /// The cache the environment asks for: <c>null</c> when <c>SERENGINE_KERNEL_CACHE=off</c>
    /// (or the home folder is unknown), else a cache at the resolved folder.
    /// </summary>
    public static KernelDiskCache? FromEnvironment()
    {
        var dir = ResolveDirectory();
        return dir is null ? null : new KernelDiskCache(dir);
    }

    /// <summary>The folder <see cref="FromEnvironment"/> would use, or null when the cache is off.</summary>
    public static string? ResolveDirectory()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
            return env.Trim().Equals("off", StringComparison.OrdinalIgnoreCase) ? null : env.Trim();
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg)) return Path.Combine(xdg, "serengine", "kernels");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "serengine", "kernels");
    }

    /// <summary>
    /// Lower-case hex SHA-256 over the parts; each part is length-prefixed so that
    /// ("ab", "c") and ("a", "bc") give different keys.
    /// </summary>
    public static string Key(params string[] parts)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> len = stackalloc byte[8];
        foreach (var part in parts)
        {
            var bytes = Encoding.UTF8.GetBytes(part);
            BitConverter.TryWriteBytes(len, (long)bytes.Length);
            sha.AppendData(len);
            sha.AppendData(bytes);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Path of the entry for <paramref name="key"/> with extension <paramref name="extension"/> (e.g. <c>clbin</c>).</summary>
    public string EntryPath(string key, string extension) => Path.Combine(Directory, $"{key}.{extension}");

    /// <summary>The entry's bytes, or null when absent or unreadable.</summary>
    public byte[]? TryRead(string key, string extension)
    {
        try
        {
            var path = EntryPath(key, extension);
            if (File.Exists(path))
            {
                var data = File.ReadAllBytes(path);
                if (data.Length > 0)
                {
                    Interlocked.Increment(ref _hits);
                    return data;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LastError = e.Message;
        }
        Interlocked.Increment(ref _misses);
        return null;
    }

    /// <summary>Writes the entry atomically (temporary file, then rename). Returns false if the write failed.</summary>
    public bool Write(string key, string extension, ReadOnlySpan<byte> data)
    {
        var path = EntryPath(key, extension);
        var tmp = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
                f.Write(data);
            File.Move(tmp, path, overwrite: true);
            Interlocked.Increment(ref _writes);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LastError = e.Message;
            try { File.Delete(tmp); } catch (Exception d) when (d is IOException or UnauthorizedAccessException) { }
            return false;
        }
    }

    /// <summary>Removes an entry (used when a cached binary is rejected by the driver).</summary>
    public void Delete(string key, string extension)
    {
        try { File.Delete(EntryPath(key, extension)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { LastError = e.Message; }
    }

    /// <inheritdoc/>
    public override string ToString() => $"kernel cache at {Directory} ({Hits} hits, {Misses} misses, {Writes} writes)";
}
