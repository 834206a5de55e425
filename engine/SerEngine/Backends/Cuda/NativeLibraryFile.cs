using System.Runtime.InteropServices;

namespace SerEngine.Backends.Cuda;

/// <summary>Which file a loaded native library came from (<c>dladdr</c>), for libraries the loader found by name.</summary>
internal static unsafe class NativeLibraryFile
{
    [StructLayout(LayoutKind.Sequential)]
    private struct DlInfo
    {
        public nint dli_fname;
        public nint dli_fbase;
        public nint dli_sname;
        public nint dli_saddr;
    }

    // glibc ≥ 2.34 has dladdr in libc.so.6; older ones in libdl.so.2
    private static readonly Lazy<nint> Dladdr = new(() =>
    {
        foreach (var lib in new[] { "libc.so.6", "libdl.so.2" })
            if (NativeLibrary.TryLoad(lib, out var h) && NativeLibrary.TryGetExport(h, "dladdr", out var f)) return f;
        return 0;
    });

    /// <summary>The full path of the file holding <paramref name="symbol"/> (an export's address), or null where <c>dladdr</c> is unavailable.</summary>
    public static string? Of(nint symbol)
    {
        if (Dladdr.Value == 0 || symbol == 0) return null;
        DlInfo info;
        if (((delegate* unmanaged<nint, DlInfo*, int>)Dladdr.Value)(symbol, &info) == 0 || info.dli_fname == 0) return null;
        var path = Marshal.PtrToStringUTF8(info.dli_fname);
        return string.IsNullOrEmpty(path) ? null : Path.GetFullPath(path);
    }
}
