using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SerEngine.Backends.Cuda;

/// <summary>A CUDA driver call returned an error; the message carries the call and the error's name (e.g. <c>CUDA_ERROR_OUT_OF_MEMORY</c>).</summary>
public sealed class CuException : Exception
{
    /// <summary>Creates the exception for <paramref name="call"/> failing with <paramref name="errorCode"/>.</summary>
    public CuException(int errorCode, string call, string detail = "")
        : base($"{call} failed: {Name(errorCode)} ({errorCode}){(detail.Length > 0 ? " — " + detail : "")}{AsyncHint(errorCode, detail)}")
    {
        ErrorCode = errorCode;
        Call = call;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public CuException(string message) : base(message) { Call = ""; }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public CuException(string message, Exception innerException) : base(message, innerException) { Call = ""; }

    /// <summary>Creates the exception with no message.</summary>
    public CuException() : this("CUDA call failed") { }

    /// <summary>
    /// For a fault a kernel makes asynchronously (illegal address, launch failure, trap, ...), which
    /// surfaces at whatever call comes next: a hint to set <c>SERENGINE_CUDA_SYNC=1</c> and learn which
    /// kernel made it (700 illegal address, 702 timeout, 710 assert, 714–719 stack, instruction,
    /// alignment, address space, PC, launch failure); empty for other errors, or when <paramref name="detail"/> already names it.
    /// </summary>
    public static string AsyncHint(int errorCode, string detail = "") =>
        errorCode is 700 or 702 or 710 or 714 or 715 or 716 or 717 or 718 or 719 && !detail.Contains(CudaBackend.SyncEnvironmentVariable, StringComparison.Ordinal)
            ? $" (a kernel's asynchronous fault: rerun with {CudaBackend.SyncEnvironmentVariable}=1 to name the kernel)"
            : "";

    /// <summary>The <c>CUresult</c> code.</summary>
    public int ErrorCode { get; }

    /// <summary>The error's name, e.g. <c>CUDA_ERROR_INVALID_VALUE</c>.</summary>
    public string ErrorName => Name(ErrorCode);

    /// <summary>The driver function that failed.</summary>
    public string Call { get; }

    /// <summary>Throws a <see cref="CuException"/> unless <paramref name="result"/> is <c>CUDA_SUCCESS</c>.</summary>
    public static void Check(int result, [CallerArgumentExpression(nameof(result))] string call = "")
    {
        if (result != CuNative.CUDA_SUCCESS) throw new CuException(result, NativeText.FunctionName(call));
    }

    /// <summary>The driver's name for a <c>CUresult</c> (via <c>cuGetErrorName</c>), or <c>CUDA_ERROR(n)</c> without a driver.</summary>
    public static unsafe string Name(int code)
    {
        if (code == 0) return "CUDA_SUCCESS";
        if (!CuNative.TryLoad(out _)) return $"CUDA_ERROR({code})";
        byte* s = null;
        return CuNative.cuGetErrorName(code, &s) == CuNative.CUDA_SUCCESS && s != null
            ? Marshal.PtrToStringUTF8((nint)s) ?? $"CUDA_ERROR({code})"
            : $"CUDA_ERROR({code})";
    }
}
