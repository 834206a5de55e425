using System.Runtime.InteropServices;
using System.Text;

namespace SerEngine.Backends.Cuda;

/// <summary>
/// NVRTC, the CUDA runtime compiler, loaded at run time from wherever <see cref="NvrtcSearch"/>
/// finds it (its soname carries the CUDA major version, so it cannot be a fixed
/// <c>[LibraryImport]</c>). Entry points are unmanaged function pointers taken with
/// <see cref="NativeLibrary.GetExport"/>; C names are kept in the field names.
/// </summary>
public sealed unsafe class NvrtcNative
{
    private static readonly Lazy<(NvrtcNative? Lib, string Report)> Shared = new(() => Probe());

    // nvrtcResult nvrtcCreateProgram(nvrtcProgram*, const char* src, const char* name, int numHeaders, const char* const* headers, const char* const* includeNames)
    private readonly delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int> nvrtcCreateProgram;
    private readonly delegate* unmanaged<nint, int, byte**, int> nvrtcCompileProgram;
    private readonly delegate* unmanaged<nint, nuint*, int> nvrtcGetProgramLogSize;
    private readonly delegate* unmanaged<nint, byte*, int> nvrtcGetProgramLog;
    private readonly delegate* unmanaged<nint, nuint*, int> nvrtcGetPTXSize;
    private readonly delegate* unmanaged<nint, byte*, int> nvrtcGetPTX;
    private readonly delegate* unmanaged<nint, nuint*, int> nvrtcGetCUBINSize;   // NVRTC ≥ 11.1, else null
    private readonly delegate* unmanaged<nint, byte*, int> nvrtcGetCUBIN;        // NVRTC ≥ 11.1, else null
    private readonly delegate* unmanaged<nint*, int> nvrtcDestroyProgram;
    private readonly delegate* unmanaged<int*, int*, int> nvrtcVersion;
    private readonly delegate* unmanaged<int, byte*> nvrtcGetErrorString;

    private NvrtcNative(string path, nint handle)
    {
        LibraryPath = path;
        nvrtcCreateProgram = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)NativeLibrary.GetExport(handle, "nvrtcCreateProgram");
        nvrtcCompileProgram = (delegate* unmanaged<nint, int, byte**, int>)NativeLibrary.GetExport(handle, "nvrtcCompileProgram");
        nvrtcGetProgramLogSize = (delegate* unmanaged<nint, nuint*, int>)NativeLibrary.GetExport(handle, "nvrtcGetProgramLogSize");
        nvrtcGetProgramLog = (delegate* unmanaged<nint, byte*, int>)NativeLibrary.GetExport(handle, "nvrtcGetProgramLog");
        nvrtcGetPTXSize = (delegate* unmanaged<nint, nuint*, int>)NativeLibrary.GetExport(handle, "nvrtcGetPTXSize");
        nvrtcGetPTX = (delegate* unmanaged<nint, byte*, int>)NativeLibrary.GetExport(handle, "nvrtcGetPTX");
        nvrtcDestroyProgram = (delegate* unmanaged<nint*, int>)NativeLibrary.GetExport(handle, "nvrtcDestroyProgram");
        nvrtcVersion = (delegate* unmanaged<int*, int*, int>)NativeLibrary.GetExport(handle, "nvrtcVersion");
        nvrtcGetErrorString = (delegate* unmanaged<int, byte*>)NativeLibrary.GetExport(handle, "nvrtcGetErrorString");
        if (NativeLibrary.TryGetExport(handle, "nvrtcGetCUBINSize", out var cs) && NativeLibrary.TryGetExport(handle, "nvrtcGetCUBIN", out var c))
        {
            nvrtcGetCUBINSize = (delegate* unmanaged<nint, nuint*, int>)cs;
            nvrtcGetCUBIN = (delegate* unmanaged<nint, byte*, int>)c;
        }
        int major, minor;
        Check(nvrtcVersion(&major, &minor), "nvrtcVersion");
        Version = new Version(major, minor);
    }

    /// <summary>The file or name the library was loaded from.</summary>
    public string LibraryPath { get; }

    /// <summary>NVRTC's version (<c>nvrtcVersion</c>).</summary>
    public Version Version { get; }

    /// <summary>True when this NVRTC can emit CUBIN (11.1 and later); otherwise only PTX.</summary>
    public bool CanEmitCubin => nvrtcGetCUBIN != null;

    /// <summary>The process-wide NVRTC found by the default search, or null (see <see cref="SearchReport"/>).</summary>
    public static NvrtcNative? Instance => Shared.Value.Lib;

    /// <summary>Where the default search looked and what it found, one line per candidate.</summary>
    public static string SearchReport => Shared.Value.Report;

    /// <summary>
    /// Searches for NVRTC (see <see cref="NvrtcSearch"/>), trying <paramref name="explicitPath"/>
    /// (default: <c>$SERENGINE_NVRTC</c>) first. The report lists every place tried and the outcome.
    /// </summary>
    public static (NvrtcNative? Lib, string Report) Probe(string? explicitPath = null)
    {
        var report = new StringBuilder("NVRTC search (").Append(NvrtcSearch.EnvironmentVariable).Append(", names, toolkit and wheel folders):\n");
        foreach (var candidate in NvrtcSearch.Candidates(explicitPath))
        {
            if (!NativeLibrary.TryLoad(candidate, typeof(NvrtcNative).Assembly, null, out var handle))
            {
                report.Append("  ").Append(candidate).Append(": not found\n");
                continue;
            }
            try
            {
                var lib = new NvrtcNative(candidate, handle);
                report.Append("  ").Append(candidate).Append($": loaded, NVRTC {lib.Version}\n");
                return (lib, report.ToString());
            }
            catch (Exception e) when (e is EntryPointNotFoundException or InvalidOperationException)
            {
                report.Append("  ").Append(candidate).Append(": loaded but unusable: ").Append(e.Message).Append('\n');
            }
        }
        var patterns = string.Join(", ", NvrtcSearch.FolderPatterns().Take(2));
        report.Append($"  no libnvrtc found (looked by name and under {patterns}, python site-packages/nvidia/cuda_nvrtc/lib and nvidia/cu13/lib)");
        return (null, report.ToString());
    }

    /// <summary>The NVRTC name of a result code, e.g. <c>NVRTC_ERROR_COMPILATION</c>.</summary>
    public string ErrorName(int result) => Marshal.PtrToStringUTF8((nint)nvrtcGetErrorString(result)) ?? $"NVRTC_ERROR({result})";

    /// <summary>
    /// Compiles CUDA C++ <paramref name="source"/> with <paramref name="options"/> (one option per
    /// entry, e.g. <c>--gpu-arch=sm_90</c>, <c>-DTILE=16</c>). Returns CUBIN when
    /// <paramref name="cubin"/> (needs a real <c>sm_XY</c> arch) else NUL-terminated PTX; on failure
    /// returns null image, the error name and the full log.
    /// </summary>
    public (byte[]? Image, string Error, string Log) Compile(string source, string fileName, IReadOnlyList<string> options, bool cubin)
    {
        if (cubin && !CanEmitCubin) return (null, "NVRTC_CUBIN_UNSUPPORTED", $"NVRTC {Version} cannot emit CUBIN (needs 11.1+)");
        var src = Utf8Z(source);
        var name = Utf8Z(fileName);
        var opts = options.Select(Utf8Z).ToArray();
        var handles = new GCHandle[opts.Length];
        nint prog = 0;
        try
        {
            var optPtrs = stackalloc byte*[Math.Max(1, opts.Length)];
            for (int i = 0; i < opts.Length; i++)
            {
                handles[i] = GCHandle.Alloc(opts[i], GCHandleType.Pinned);
                optPtrs[i] = (byte*)handles[i].AddrOfPinnedObject();
            }
            fixed (byte* s = src)
            fixed (byte* n = name)
                Check(nvrtcCreateProgram(&prog, s, n, 0, null, null), "nvrtcCreateProgram");
            int result = nvrtcCompileProgram(prog, opts.Length, optPtrs);
            var log = Log(prog);
            if (result != 0) return (null, ErrorName(result), log);
            nuint size;
            if (cubin)
            {
                Check(nvrtcGetCUBINSize(prog, &size), "nvrtcGetCUBINSize");
                var image = new byte[(int)size];
                fixed (byte* p = image) Check(nvrtcGetCUBIN(prog, p), "nvrtcGetCUBIN");
                return (image, "", log);
            }
            Check(nvrtcGetPTXSize(prog, &size), "nvrtcGetPTXSize");
            var ptx = new byte[(int)size];
            fixed (byte* p = ptx) Check(nvrtcGetPTX(prog, p), "nvrtcGetPTX");
            return (ptx, "", log);
        }
        finally
        {
            foreach (var h in handles) if (h.IsAllocated) h.Free();
            if (prog != 0) _ = nvrtcDestroyProgram(&prog);
        }
    }

    private string Log(nint prog)
    {
        nuint size;
        if (nvrtcGetProgramLogSize(prog, &size) != 0 || size <= 1) return "";
        var buf = new byte[(int)size];
        fixed (byte* b = buf) if (nvrtcGetProgramLog(prog, b) != 0) return "";
        return NativeText.Utf8(buf);
    }

    private void Check(int result, string call)
    {
        if (result != 0) throw new InvalidOperationException($"{call} failed: {(nvrtcGetErrorString == null ? result.ToString(System.Globalization.CultureInfo.InvariantCulture) : ErrorName(result))}");
    }

    private static byte[] Utf8Z(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
