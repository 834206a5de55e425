namespace SerEngine.Backends;

/// <summary>Device-side duration of one kernel launch, measured with driver events (for benchmarks).</summary>
/// <param name="Kernel">Kernel name, e.g. <c>copy_blocks</c>.</param>
/// <param name="Milliseconds">Time between the kernel's start and end on the device.</param>
public readonly record struct KernelTiming(string Kernel, double Milliseconds);
