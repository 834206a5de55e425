using System.Diagnostics;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Backends.Gpu;
using SerEngine.Bench;

namespace SerEngine.Benchmarks.Lab;

/// <summary>Settings of a lab run.</summary>
public sealed record LabOptions
{
    /// <summary>Fewer and smaller cases: the mode tests run (under a minute on PoCL for every op).</summary>
    public bool Quick { get; init; }

    /// <summary>Timed runs per case (the median is reported); at least 7.</summary>
    public int Runs { get; init; } = 7;

    /// <summary>Untimed runs before them.</summary>
    public int Warmups { get; init; } = 2;

    /// <summary>
    /// A timed run repeats the call until it lasts about this long (then reports time per call), so
    /// a 20 µs kernel is not lost in the timer's and the synchronisation's noise.
    /// </summary>
    public double MinRunMilliseconds => Quick ? 1 : 5;

    /// <summary>These settings as the shared timing rule of benchmarks/SerEngine.Bench: exactly <see cref="Runs"/> runs, calls batched per run.</summary>
    public TimingOptions Timing => new() { WarmupRuns = Warmups, MinRuns = Runs, MaxRuns = Runs, MinRunMilliseconds = MinRunMilliseconds };
}

/// <summary>
/// The kernel lab: for each op and each variant, first validates it against the CPU reference at
/// several sizes and launch shapes (printing PASS/FAIL and the largest relative error), then — only if
/// every check passed — times it with the timing harness <c>ser bench</c> uses (<see cref="TimingHarness"/>:
/// median of the runs after the warm-ups, each run ending with a device synchronisation) and prints milliseconds and GFLOP/s or GB/s in an aligned table.
/// Command line: <see cref="KernelLabCommand"/>.
/// </summary>
public static class KernelLab
{
    /// <summary>Sentinel elements after every device output: a kernel that writes past its output changes them.</summary>
    internal const int Padding = 67;

    /// <summary>Every op family, in the order the lab runs them.</summary>
    public static IReadOnlyList<LabOp> Ops { get; } =
    [
        new GemmLab(), new Conv2dLab(), new SoftmaxLab(), new ElementwiseLab(), new SumToLab(),
        new PermuteLab(), new MaxPool2dLab(), new BatchNorm2dLab(), new CrossEntropyLab(), new OptimLab(), new FocusBiasLab(), new SpectrogramLab(),
        new MelFeaturesLab(),
    ];

    /// <summary>The op called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such op (the message lists them).</exception>
    public static LabOp Find(string name) =>
        Ops.FirstOrDefault(o => string.Equals(o.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown lab op '{name}' (known: {string.Join(", ", Ops.Select(o => o.Name))})", nameof(name));

    /// <summary>
    /// Runs <paramref name="ops"/> on <paramref name="device"/>, printing the table to
    /// <paramref name="output"/>. A GPU backend's variant choice is restored afterwards.
    /// </summary>
    public static LabReport Run(Backend device, IReadOnlyList<LabOp> ops, LabOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Runs < 7) throw new ArgumentOutOfRangeException(nameof(options), $"the lab reports a median of at least 7 runs, asked for {options.Runs}");
        var started = Stopwatch.StartNew();
        var reference = new CpuReferenceBackend();
        var plan = ops.Select(op => (Op: op, Variants: VariantsOn(op, device, options.Quick))).ToList();
        var allCases = plan.SelectMany(p => p.Variants.SelectMany(v => v.Checks.Concat(v.Timings)));
        var table = new LabTable(output,
            plan.Select(p => p.Op.Name.Length).DefaultIfEmpty(0).Max(),
            plan.SelectMany(p => p.Variants).Select(v => v.Name.Length).DefaultIfEmpty(0).Max(),
            allCases.Select(c => c.Name.Length).DefaultIfEmpty(0).Max());
        table.Header();

        var rows = new List<LabRow>();
        var results = new List<LabVariantResult>();
        foreach (var (op, variants) in plan)
        {
            foreach (var variant in variants)
            {
                if (device is GpuBackend g && variant.Unavailable?.Invoke(g) is { } why)
                {
                    table.Skipped(op.Name, variant.Name, why);
                    continue;
                }
                using var selected = device is GpuBackend gpu && variant.Select is not null ? variant.Select(gpu) : null;
                int failed = 0, timed = 0, failedTimings = 0;
                double worst = 0;
                foreach (var c in variant.Checks)
                {
                    var row = Check(device, reference, op, variant.Name, c);
                    if (!row.Passed) failed++;
                    worst = Math.Max(worst, row.MaxRelError ?? double.PositiveInfinity);
                    Add(row);
                }
                if (failed == 0)
                {
                    foreach (var c in variant.Timings)
                    {
                        var row = Time(device, op, variant.Name, c, options);
                        if (row.Passed) timed++;
                        else failedTimings++;
                        Add(row);
                    }
                }
                else
                {
                    Add(new LabRow(op.Name, variant.Name, LabStep.Time, "-", false, null, "validation failed", null, null, op.Unit, 0));
                }
                results.Add(new LabVariantResult(op.Name, variant.Name, variant.Checks.Count, failed, worst, timed, failedTimings));
            }
        }
        var report = new LabReport(rows, results);
        table.Summary(report, started.Elapsed);
        return report;

        void Add(LabRow row)
        {
            rows.Add(row);
            table.Write(row);
        }
    }

    /// <summary>
    /// The variants as run on <paramref name="device"/>. On a GPU backend: the op's own. On a CPU
    /// backend there is one implementation: ops with selectable variants run the first variant's
    /// cases under the backend's name; ops whose kernel follows the shape keep their case groups,
    /// labelled backend/group.
    /// </summary>
    private static IReadOnlyList<LabVariant> VariantsOn(LabOp op, Backend device, bool quick)
    {
        var variants = op.Variants(quick);
        if (device is GpuBackend || variants.Count == 0) return variants;
        if (variants.Any(v => v.Select is not null)) return [variants[0] with { Name = device.Name, Select = null }];
        return [.. variants.Select(v => v with { Name = $"{device.Name}/{v.Name}" })];
    }

    /// <summary>Runs one case on the reference and on the device and compares every output.</summary>
    private static LabRow Check(Backend device, Backend reference, LabOp op, string variant, LabCase c)
    {
        var refBuffers = new List<Storage>();
        var devBuffers = new List<Storage>();
        try
        {
            var refArgs = Allocate(reference, c, padded: false, refBuffers);
            var devArgs = Allocate(device, c, padded: true, devBuffers);
            c.Run(reference, refArgs);
            string? launched = RunObserved(device, () => c.Run(device, devArgs));

            double worst = 0;
            string? detail = null;
            for (int i = 0; i < c.Buffers.Count; i++)
            {
                var b = c.Buffers[i];
                if (b.Role == LabRole.Input) continue;
                var (err, why, where) = LabCompare.Compare(b, refBuffers[i], devBuffers[i]);
                if (why is not null) detail ??= why;
                else if (err > b.Tolerance) detail ??= $"{b.Name}: rel err {LabTable.FormatError(err)} > tolerance {LabTable.FormatError(b.Tolerance)} ({where})";
                worst = Math.Max(worst, double.IsNaN(err) ? double.PositiveInfinity : err);
            }
            if (detail is null && c.ExpectKernel is not null && device is GpuBackend && launched != c.ExpectKernel)
                detail = $"launched {(launched is null ? "no kernel" : $"kernel {launched}")}, expected {c.ExpectKernel}";
            return new LabRow(op.Name, variant, LabStep.Check, c.Name, detail is null, worst, detail, null, null, op.Unit, 0);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new LabRow(op.Name, variant, LabStep.Check, c.Name, false, null, Describe(e), null, null, op.Unit, 0);
        }
        finally
        {
            foreach (var s in refBuffers.Concat(devBuffers)) s.Dispose();
        }
    }

    /// <summary>Median milliseconds per call over the runs, after the warm-ups (<see cref="TimingHarness"/>); every run ends with a device synchronisation.</summary>
    private static LabRow Time(Backend device, LabOp op, string variant, LabCase c, LabOptions options)
    {
        var buffers = new List<Storage>();
        try
        {
            var args = Allocate(device, c, padded: false, buffers);
            var t = TimingHarness.Measure(() => c.Run(device, args), options.Timing, DeviceSync.For(device));
            double median = t.MedianMs;
            double work = op.Unit == LabUnit.Gflops
                ? c.Flops ?? throw new InvalidOperationException($"{op.Name} case {c.Name} has no flop count")
                : c.Bytes;
            return new LabRow(op.Name, variant, LabStep.Time, c.Name, true, null, null, median, work / (median * 1e6), op.Unit, t.CallsPerRun);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new LabRow(op.Name, variant, LabStep.Time, c.Name, false, null, Describe(e), null, null, op.Unit, 0);
        }
        finally
        {
            foreach (var s in buffers) s.Dispose();
        }
    }

    /// <summary>
    /// Allocates the case's buffers on a backend (in <paramref name="owned"/>, same order as the case's):
    /// inputs and in-place buffers get their values; device outputs start as NaN (an element the kernel
    /// misses stays NaN) and every padded buffer ends with <see cref="Padding"/> sentinels.
    /// </summary>
    private static LabArgs Allocate(Backend backend, LabCase c, bool padded, List<Storage> owned)
    {
        var byName = new Dictionary<string, Storage>();
        foreach (var b in c.Buffers)
        {
            int pad = padded && b.Role != LabRole.Input ? Padding : 0;
            var s = backend.Allocate(b.Length + pad, b.DType);
            owned.Add(s);
            byName.Add(b.Name, s);
            if (b.DType == DType.Int32)
            {
                var v = new int[b.Length + pad];
                Array.Fill(v, LabCompare.IntSentinel);
                b.InitialInts?.CopyTo(v, 0);
                backend.Write(s, v);
            }
            else
            {
                var v = new float[b.Length + pad];
                Array.Fill(v, padded ? float.NaN : 0f, 0, b.Length);
                Array.Fill(v, LabCompare.FloatSentinel, b.Length, pad);
                b.InitialFloats?.CopyTo(v, 0);
                backend.Write(s, v);
            }
        }
        return new LabArgs(byName);
    }

    /// <summary>
    /// Runs <paramref name="run"/> with kernel profiling on (OpenCL or CUDA) and returns the name of the
    /// last kernel it launched, or null when none was observed (or on a CPU backend).
    /// </summary>
    private static string? RunObserved(Backend device, Action run)
    {
        switch (device)
        {
            case Backends.OpenCl.OpenClBackend cl:
            {
                bool saved = cl.ProfileKernels;
                long before = cl.ProfiledLaunches;   // a count, not LastKernel: two launches of one kernel may time the same
                cl.ProfileKernels = true;
                try { run(); }
                finally { cl.ProfileKernels = saved; }
                cl.Synchronize();
                return cl.ProfiledLaunches != before ? cl.LastKernel?.Kernel : null;
            }
            case Backends.Cuda.CudaBackend cu:
            {
                bool saved = cu.ProfileKernels;
                long before = cu.ProfiledLaunches;   // a count, not LastKernel: two launches of one kernel may time the same
                cu.ProfileKernels = true;
                try { run(); }
                finally { cu.ProfileKernels = saved; }
                cu.Synchronize();
                return cu.ProfiledLaunches != before ? cu.LastKernel?.Kernel : null;
            }
            default:
                run();
                return null;
        }
    }

    private static string Describe(Exception e)
    {
        string message = e.Message;
        int newline = message.IndexOf('\n', StringComparison.Ordinal);
        if (newline >= 0) message = message[..newline] + " …";
        return $"{e.GetType().Name}: {message}";
    }
}
