namespace SerEngine.Backends;

/// <summary>
/// Thrown when a backend cannot be created on this machine: no driver, no device, or no device
/// matching the requested name. The message starts with the reason's kind, e.g.
/// <c>"no CUDA device: libcuda.so.1 could not be loaded"</c> or <c>"no OpenCL device: ..."</c>.
/// </summary>
public sealed class BackendUnavailableException : Exception
{
    /// <summary>Creates the exception with its full message.</summary>
    public BackendUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception with its full message and the error that caused it.</summary>
    public BackendUnavailableException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message (prefer the constructors that take one).</summary>
    public BackendUnavailableException() : base("backend unavailable") { }
}
