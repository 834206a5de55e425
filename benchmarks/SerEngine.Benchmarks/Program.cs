using BenchmarkDotNet.Running;
using SerEngine.Benchmarks.Lab;

namespace SerEngine.Benchmarks;

/// <summary>
/// Runs the BenchmarkDotNet suites (<c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*'</c>)
/// or, with <c>lab</c> as the first word, the kernel lab (<c>-- lab --backend opencl --quick</c>; see <see cref="KernelLabCommand"/>).
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        SideBySide.Open("cpu"); // registers ilgpu and ilgpu-cpu (and ILGPU's wait), for the suites and `lab --backend ilgpu-cpu`
        if (args.Length > 0 && args[0] == "lab") return KernelLabCommand.Run(args[1..], Console.Out);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
