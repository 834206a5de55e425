namespace SerEngine.Backends;

/// <summary>
/// A kernel failed to compile (OpenCL <c>clBuildProgram</c> or NVRTC). The message names the kernel
/// file and carries the compiler's full build log, so the failing line is visible without a debugger.
/// </summary>
public sealed class KernelCompileException : Exception
{
    /// <summary>Creates the exception from the compiler's outcome.</summary>
    /// <param name="fileName">Kernel file name, e.g. <c>memory.cl</c>.</param>
    /// <param name="compiler">Who compiled it: <c>OpenCL clBuildProgram</c>, <c>NVRTC</c>.</param>
    /// <param name="errorName">The driver's error name, e.g. <c>CL_BUILD_PROGRAM_FAILURE</c>.</param>
    /// <param name="device">Device the program was built for.</param>
    /// <param name="options">Compiler options used.</param>
    /// <param name="buildLog">The compiler's full log.</param>
    public KernelCompileException(string fileName, string compiler, string errorName, string device, string options, string buildLog)
        : base($"{fileName}: {compiler} failed with {errorName} for device '{device}' (options: '{options}'). Full build log of {fileName}:\n{buildLog}")
    {
        FileName = fileName;
        ErrorName = errorName;
        Options = options;
        BuildLog = buildLog;
    }

    /// <summary>Creates the exception with a message only (prefer the main constructor).</summary>
    public KernelCompileException(string message) : base(message)
    {
        FileName = ErrorName = Options = BuildLog = "";
    }

    /// <summary>Creates the exception with a message and a cause (prefer the main constructor).</summary>
    public KernelCompileException(string message, Exception innerException) : base(message, innerException)
    {
        FileName = ErrorName = Options = BuildLog = "";
    }

    /// <summary>Creates the exception with no message (prefer the main constructor).</summary>
    public KernelCompileException() : this("kernel compilation failed") { }

    /// <summary>Kernel file name.</summary>
    public string FileName { get; }

    /// <summary>The driver's error name.</summary>
    public string ErrorName { get; }

    /// <summary>Compiler options used.</summary>
    public string Options { get; }

    /// <summary>The compiler's full log.</summary>
    public string BuildLog { get; }
}
