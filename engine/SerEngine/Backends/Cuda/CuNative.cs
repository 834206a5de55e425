using System.Runtime.InteropServices;

namespace SerEngine.Backends.Cuda;

/// <summary>
/// Thin, literal bindings to the CUDA driver API in <c>libcuda.so.1</c> (installed with the NVIDIA
/// driver, not with the toolkit). C names unchanged, the <c>_v2</c> entry points where the header
/// maps to them; <c>CUdeviceptr</c> is <c>ulong</c>, handles are <c>nint</c>, results are
/// <c>CUresult</c> ints checked by <see cref="CuException.Check"/>. Call <see cref="TryLoad"/>
/// before the first call: machines without the driver must not crash.
/// </summary>
internal static unsafe partial class CuNative
{
    public const string Lib = "libcuda.so.1";

    public const int CUDA_SUCCESS = 0;
    public const int CUDA_ERROR_NOT_FOUND = 500;
    public const int CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1;
    public const int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    public const uint CU_EVENT_DEFAULT = 0;

    // CUjit_option values for cuModuleLoadDataEx
    public const int CU_JIT_INFO_LOG_BUFFER = 3;
    public const int CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
    public const int CU_JIT_ERROR_LOG_BUFFER = 5;
    public const int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

    private static readonly Lazy<string?> LoadError = new(() =>
        NativeLibrary.TryLoad(Lib, typeof(CuNative).Assembly, null, out _)
            ? null
            : $"{Lib} could not be loaded (no NVIDIA driver on this machine)");

    /// <summary>True when the driver library can be loaded; otherwise <paramref name="reason"/> says why.</summary>
    public static bool TryLoad(out string reason)
    {
        reason = LoadError.Value ?? "";
        return LoadError.Value is null;
    }

    // ---- initialisation and devices -------------------------------------------------------------
    [LibraryImport(Lib)] public static partial int cuInit(uint Flags);
    [LibraryImport(Lib)] public static partial int cuDriverGetVersion(int* driverVersion);
    [LibraryImport(Lib)] public static partial int cuDeviceGetCount(int* count);
    [LibraryImport(Lib)] public static partial int cuDeviceGet(int* device, int ordinal);
    [LibraryImport(Lib)] public static partial int cuDeviceGetName(byte* name, int len, int dev);
    [LibraryImport(Lib)] public static partial int cuDeviceGetAttribute(int* pi, int attrib, int dev);
    [LibraryImport(Lib)] public static partial int cuDeviceTotalMem_v2(nuint* bytes, int dev);
    [LibraryImport(Lib)] public static partial int cuGetErrorName(int error, byte** pStr);
    [LibraryImport(Lib)] public static partial int cuGetErrorString(int error, byte** pStr);

    // ---- contexts -------------------------------------------------------------------------------
    [LibraryImport(Lib)] public static partial int cuDevicePrimaryCtxRetain(nint* pctx, int dev);
    [LibraryImport(Lib)] public static partial int cuDevicePrimaryCtxRelease_v2(int dev);
    [LibraryImport(Lib)] public static partial int cuCtxSetCurrent(nint ctx);
    [LibraryImport(Lib)] public static partial int cuCtxSynchronize();

    // ---- memory ---------------------------------------------------------------------------------
    [LibraryImport(Lib)] public static partial int cuMemAlloc_v2(ulong* dptr, nuint bytesize);
    [LibraryImport(Lib)] public static partial int cuMemFree_v2(ulong dptr);
    [LibraryImport(Lib)] public static partial int cuMemcpyHtoD_v2(ulong dstDevice, void* srcHost, nuint ByteCount);
    [LibraryImport(Lib)] public static partial int cuMemcpyDtoH_v2(void* dstHost, ulong srcDevice, nuint ByteCount);
    [LibraryImport(Lib)] public static partial int cuMemcpyDtoD_v2(ulong dstDevice, ulong srcDevice, nuint ByteCount);
    [LibraryImport(Lib)] public static partial int cuMemsetD32_v2(ulong dstDevice, uint ui, nuint N);

    // ---- modules and launches -------------------------------------------------------------------
    [LibraryImport(Lib)] public static partial int cuModuleLoadData(nint* module, void* image);
    [LibraryImport(Lib)] public static partial int cuModuleLoadDataEx(nint* module, void* image, uint numOptions, int* options, void** optionValues);
    [LibraryImport(Lib)] public static partial int cuModuleUnload(nint hmod);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial int cuModuleGetGlobal_v2(ulong* dptr, nuint* bytes, nint hmod, string name);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial int cuModuleGetFunction(nint* hfunc, nint hmod, string name);
    [LibraryImport(Lib)] public static partial int cuLaunchKernel(nint f, uint gridDimX, uint gridDimY, uint gridDimZ,
        uint blockDimX, uint blockDimY, uint blockDimZ, uint sharedMemBytes, nint hStream, void** kernelParams, void** extra);

    // ---- events ---------------------------------------------------------------------------------
    [LibraryImport(Lib)] public static partial int cuEventCreate(nint* phEvent, uint Flags);
    [LibraryImport(Lib)] public static partial int cuEventRecord(nint hEvent, nint hStream);
    [LibraryImport(Lib)] public static partial int cuEventSynchronize(nint hEvent);
    [LibraryImport(Lib)] public static partial int cuEventElapsedTime(float* pMilliseconds, nint hStart, nint hEnd);
    [LibraryImport(Lib)] public static partial int cuEventDestroy_v2(nint hEvent);
}
