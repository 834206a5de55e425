namespace SerEngine.Conformance;

/// <summary>The score of one expected tensor: ‖actual − expected‖₂ / (rtol‖expected‖₂ + atol√n).</summary>
/// <param name="Name">Full tensor name (<c>out.y</c>, <c>grad.weight</c>).</param>
/// <param name="Ratio">The score; the tensor passes when it is ≤ 1 (NaN fails).</param>
public sealed record TensorScore(string Name, double Ratio)
{
    /// <summary>True when <see cref="Ratio"/> ≤ 1.</summary>
    public bool Passed => Ratio <= 1.0;
}

/// <summary>The outcome of one fixture file.</summary>
public sealed class FixtureResult
{
    /// <summary>Fixture name (file name without extension).</summary>
    public required string Name { get; init; }

    /// <summary>True when every expected tensor was produced and scored ≤ 1.</summary>
    public required bool Passed { get; init; }

    /// <summary>The largest score (NaN when the case did not get as far as scoring).</summary>
    public double Worst { get; init; } = double.NaN;

    /// <summary>The tensor with the largest score when scoring failed, else null.</summary>
    public string? FailingTensor { get; init; }

    /// <summary>Why the case failed when it failed before or outside scoring (missing tensor, exception), else null.</summary>
    public string? Reason { get; init; }

    /// <summary>Every scored tensor, in file order.</summary>
    public IReadOnlyList<TensorScore> Scores { get; init; } = [];

    /// <summary>The line the runner prints: <c>PASS name worst=0.03</c>, <c>FAIL name tensor=grad.x ratio=3.1</c> or <c>FAIL name reason</c>.</summary>
    public override string ToString() =>
        Passed ? $"PASS {Name} worst={ConformanceRunner.Format(Worst)}"
        : Reason is not null ? $"FAIL {Name} {Reason}"
        : $"FAIL {Name} tensor={FailingTensor} ratio={ConformanceRunner.Format(Worst)}";
}

/// <summary>The outcome of a conformance run over a directory.</summary>
public sealed class ConformanceResult
{
    /// <summary>Per-file results, in the order run (sorted by file name).</summary>
    public required IReadOnlyList<FixtureResult> Files { get; init; }

    /// <summary>Number of passing files.</summary>
    public int Passed => Files.Count(f => f.Passed);

    /// <summary>Number of failing files.</summary>
    public int Failed => Files.Count(f => !f.Passed);

    /// <summary>The summary line: <c>conformance: N passed, M failed</c>.</summary>
    public string Summary => $"conformance: {Passed} passed, {Failed} failed";
}
