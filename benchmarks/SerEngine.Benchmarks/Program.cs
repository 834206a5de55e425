using BenchmarkDotNet.Running;
using SerEngine.Benchmarks.Lab;

namespace SerEngine.Benchmarks;

/// <summary>
/// Runs the BenchmarkDotNet suites (<c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*'</c>)
/// or, with <c>lab</c> as the first word, the kernel lab (<c>-- lab --backend opencl --quick</c>; see <see cref="KernelLabCommand"/>),
/// or, with <c>memory</c>, an embedded recognizer's memory (<c>-- memory CHECKPOINT WAV</c>; see <see cref="RecognizerMemory"/>).
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "memory") return RecognizerMemory.Run(args[1..], Console.Out); // before anything else is loaded
        SideBySide.Open("cpu"); // registers ilgpu and ilgpu-cpu (and ILGPU's wait), for the suites and `lab --backend ilgpu-cpu`
        if (args.Length > 0 && args[0] == "lab") return KernelLabCommand.Run(args[1..], Console.Out);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
