using System.Runtime.InteropServices;

namespace SerEngine.Backends.OpenCl;

/// <summary>
/// Thin, literal bindings to the OpenCL 1.2 API in <c>libOpenCL.so.1</c> (the ICD loader). C names
/// and argument order are unchanged; handles are <c>nint</c>, <c>size_t</c> is <c>nuint</c>,
/// <c>cl_int</c> return values go through <see cref="ClException.Check"/>. Call
/// <see cref="TryLoad"/> before the first call: it guards against a missing loader.
/// </summary>
internal static unsafe partial class ClNative
{
    public const string Lib = "libOpenCL.so.1";

    // ---- constants (cl.h) -----------------------------------------------------------------------
    public const int CL_SUCCESS = 0;
    public const uint CL_PLATFORM_PROFILE = 0x0900;
    public const uint CL_PLATFORM_VERSION = 0x0901;
    public const uint CL_PLATFORM_NAME = 0x0902;
    public const uint CL_PLATFORM_VENDOR = 0x0903;

    public const ulong CL_DEVICE_TYPE_CPU = 1 << 1;
    public const ulong CL_DEVICE_TYPE_GPU = 1 << 2;
    public const ulong CL_DEVICE_TYPE_ACCELERATOR = 1 << 3;
    public const ulong CL_DEVICE_TYPE_ALL = 0xFFFFFFFF;

    public const uint CL_DEVICE_TYPE = 0x1000;
    public const uint CL_DEVICE_MAX_COMPUTE_UNITS = 0x1002;
    public const uint CL_DEVICE_MAX_WORK_GROUP_SIZE = 0x1004;
    public const uint CL_DEVICE_MAX_MEM_ALLOC_SIZE = 0x1010;
    public const uint CL_DEVICE_GLOBAL_MEM_SIZE = 0x101F;
    public const uint CL_DEVICE_LOCAL_MEM_SIZE = 0x1023;
    public const uint CL_DEVICE_NAME = 0x102B;
    public const uint CL_DEVICE_VENDOR = 0x102C;
    public const uint CL_DRIVER_VERSION = 0x102D;
    public const uint CL_DEVICE_VERSION = 0x102F;
    public const uint CL_DEVICE_EXTENSIONS = 0x1030;
    public const uint CL_DEVICE_OPENCL_C_VERSION = 0x103D;
    public const uint CL_DEVICE_MAX_NUM_SUB_GROUPS = 0x105C; // OpenCL 2.1

    public const uint CL_KERNEL_SUB_GROUP_COUNT_FOR_NDRANGE = 0x2034; // OpenCL 2.1 / cl_khr_subgroups

    public const ulong CL_QUEUE_PROFILING_ENABLE = 1 << 1;
    public const ulong CL_MEM_READ_WRITE = 1 << 0;
    public const uint CL_TRUE = 1;
    public const uint CL_FALSE = 0;

    public const uint CL_PROGRAM_NUM_DEVICES = 0x1162;
    public const uint CL_PROGRAM_BINARY_SIZES = 0x1165;
    public const uint CL_PROGRAM_BINARIES = 0x1166;
    public const uint CL_PROGRAM_BUILD_STATUS = 0x1181;
    public const uint CL_PROGRAM_BUILD_LOG = 0x1183;

    public const uint CL_PROFILING_COMMAND_QUEUED = 0x1280;
    public const uint CL_PROFILING_COMMAND_SUBMIT = 0x1281;
    public const uint CL_PROFILING_COMMAND_START = 0x1282;
    public const uint CL_PROFILING_COMMAND_END = 0x1283;

    private static readonly Lazy<string?> LoadError = new(() =>
        NativeLibrary.TryLoad(Lib, typeof(ClNative).Assembly, null, out _)
            ? null
            : $"{Lib} could not be loaded (no OpenCL ICD loader; on Debian: apt-get install ocl-icd-libopencl1 pocl-opencl-icd)");

    /// <summary>True when the ICD loader can be loaded; otherwise <paramref name="reason"/> says why.</summary>
    public static bool TryLoad(out string reason)
    {
        reason = LoadError.Value ?? "";
        return LoadError.Value is null;
    }

    // ---- platforms and devices ------------------------------------------------------------------
    [LibraryImport(Lib)] public static partial int clGetPlatformIDs(uint num_entries, nint* platforms, uint* num_platforms);
    [LibraryImport(Lib)] public static partial int clGetPlatformInfo(nint platform, uint param_name, nuint param_value_size, void* param_value, nuint* param_value_size_ret);
    [LibraryImport(Lib)] public static partial int clGetDeviceIDs(nint platform, ulong device_type, uint num_entries, nint* devices, uint* num_devices);
    [LibraryImport(Lib)] public static partial int clGetDeviceInfo(nint device, uint param_name, nuint param_value_size, void* param_value, nuint* param_value_size_ret);

    // ---- context and queue ----------------------------------------------------------------------
    [LibraryImport(Lib)] public static partial nint clCreateContext(nint* properties, uint num_devices, nint* devices, nint pfn_notify, nint user_data, int* errcode_ret);
    [LibraryImport(Lib)] public static partial int clReleaseContext(nint context);
    [LibraryImport(Lib)] public static partial nint clCreateCommandQueue(nint context, nint device, ulong properties, int* errcode_ret);
    [LibraryImport(Lib)] public static partial int clReleaseCommandQueue(nint command_queue);
    [LibraryImport(Lib)] public static partial int clFinish(nint command_queue);
    [LibraryImport(Lib)] public static partial int clFlush(nint command_queue);

    // ---- memory ---------------------------------------------------------------------------------
    [LibraryImport(Lib)] public static partial nint clCreateBuffer(nint context, ulong flags, nuint size, void* host_ptr, int* errcode_ret);
    [LibraryImport(Lib)] public static partial int clReleaseMemObject(nint memobj);
    [LibraryImport(Lib)] public static partial int clEnqueueWriteBuffer(nint command_queue, nint buffer, uint blocking_write, nuint offset, nuint size, void* ptr, uint num_events_in_wait_list, nint* event_wait_list, nint* evt);
    [LibraryImport(Lib)] public static partial int clEnqueueReadBuffer(nint command_queue, nint buffer, uint blocking_read, nuint offset, nuint size, void* ptr, uint num_events_in_wait_list, nint* event_wait_list, nint* evt);
    [LibraryImport(Lib)] public static partial int clEnqueueCopyBuffer(nint command_queue, nint src_buffer, nint dst_buffer, nuint src_offset, nuint dst_offset, nuint size, uint num_events_in_wait_list, nint* event_wait_list, nint* evt);
    [LibraryImport(Lib)] public static partial int clEnqueueFillBuffer(nint command_queue, nint buffer, void* pattern, nuint pattern_size, nuint offset, nuint size, uint num_events_in_wait_list, nint* event_wait_list, nint* evt);

    // ---- programs and kernels -------------------------------------------------------------------
    [LibraryImport(Lib)] public static partial nint clCreateProgramWithSource(nint context, uint count, byte** strings, nuint* lengths, int* errcode_ret);
    [LibraryImport(Lib)] public static partial nint clCreateProgramWithBinary(nint context, uint num_devices, nint* device_list, nuint* lengths, byte** binaries, int* binary_status, int* errcode_ret);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial int clBuildProgram(nint program, uint num_devices, nint* device_list, string options, nint pfn_notify, nint user_data);
    [LibraryImport(Lib)] public static partial int clGetProgramBuildInfo(nint program, nint device, uint param_name, nuint param_value_size, void* param_value, nuint* param_value_size_ret);
    [LibraryImport(Lib)] public static partial int clGetProgramInfo(nint program, uint param_name, nuint param_value_size, void* param_value, nuint* param_value_size_ret);
    [LibraryImport(Lib)] public static partial int clReleaseProgram(nint program);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial nint clCreateKernel(nint program, string kernel_name, int* errcode_ret);
    [LibraryImport(Lib)] public static partial int clReleaseKernel(nint kernel);
    [LibraryImport(Lib)] public static partial int clSetKernelArg(nint kernel, uint arg_index, nuint arg_size, void* arg_value);
    // OpenCL 2.1: an ICD loader older than that lacks the symbol (EntryPointNotFoundException on the first call).
    [LibraryImport(Lib)] public static partial int clGetKernelSubGroupInfo(nint kernel, nint device, uint param_name, nuint input_value_size, void* input_value, nuint param_value_size, void* param_value, nuint* param_value_size_ret);
    [LibraryImport(Lib)] public static partial int clEnqueueNDRangeKernel(nint command_queue, nint kernel, uint work_dim, nuint* global_work_offset, nuint* global_work_size, nuint* local_work_size, uint num_events_in_wait_list, nint* event_wait_list, nint* evt);

    // ---- events ---------------------------------------------------------------------------------
    [LibraryImport(Lib)] public static partial int clWaitForEvents(uint num_events, nint* event_list);
    [LibraryImport(Lib)] public static partial int clGetEventProfilingInfo(nint evt, uint param_name, nuint param_value_size, void* param_value, nuint* param_value_size_ret);
    [LibraryImport(Lib)] public static partial int clReleaseEvent(nint evt);
}
