using System.Runtime.InteropServices;

namespace SerEngine.Backends.Cpu;

/// <summary>
/// Maps the memory of a newly allocated large array in one system call (Linux <c>madvise(MADV_POPULATE_WRITE)</c>,
/// kernel 5.14 or later) instead of one page fault per page at its first writes. Where a page fault is expensive, as on
/// paravirtualised VMs, first writes into fresh buffers cost more than the work on them; the kernel populating a range
/// in a loop skips the fault's trip through the exception path for every page. The array's contents do not change:
/// only whole pages inside it are populated, and an untouched page reads as zero either way. Does nothing off Linux,
/// on kernels without the call (the first failure turns it off), for arrays under <see cref="MinBytes"/>, or with
/// <c>SERENGINE_PREFAULT=0</c>. Thread-safe.
/// </summary>
public static unsafe class PagePrefault
{
    /// <summary>The variable that turns prefaulting off (<c>0</c>).</summary>
    public const string EnvironmentVariable = "SERENGINE_PREFAULT";

    /// <summary>Arrays shorter than this many bytes are left to fault page by page (one call costs about as much as a few faults).</summary>
    public const int MinBytes = 64 << 10;

    private const int MadvPopulateWrite = 23; // <linux/mman.h>

    // the madvise entry point, or 0 when prefaulting is off (not Linux, no libc export, switched off, or a call failed)
    private static nint s_madvise = Resolve();

    /// <summary>Whether <see cref="Populate{T}(T[])"/> does anything in this process.</summary>
    public static bool Enabled => Volatile.Read(ref s_madvise) != 0;

    /// <summary>
    /// Populates the whole pages that lie inside <paramref name="array"/> when it spans at least <see cref="MinBytes"/>;
    /// returns <paramref name="array"/>. Call it right after allocating an array the caller is about to fill.
    /// </summary>
    public static T[] Populate<T>(T[] array) where T : unmanaged
    {
        nint madvise = Volatile.Read(ref s_madvise);
        long bytes = (long)array.Length * sizeof(T);
        if (madvise == 0 || bytes < MinBytes) return array;
        long page = Environment.SystemPageSize;
        fixed (T* p = array) // pinned for the call: the range must not move under the kernel
        {
            long start = ((long)p + page - 1) & -page, end = ((long)p + bytes) & -page;
            if (end - start >= page &&
                ((delegate* unmanaged<nint, nuint, int, int>)madvise)((nint)start, (nuint)(end - start), MadvPopulateWrite) != 0)
                Volatile.Write(ref s_madvise, 0); // EINVAL on kernels before 5.14: fall back to faulting for the rest of the run
        }
        return array;
    }

    private static nint Resolve()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(EnvironmentVariable) == "0") return 0;
        return NativeLibrary.TryLoad("libc.so.6", out var libc) && NativeLibrary.TryGetExport(libc, "madvise", out var f) ? f : 0;
    }
}
