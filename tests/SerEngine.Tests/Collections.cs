namespace SerEngine.Tests;

/// <summary>
/// Tests that measure process-wide state (a backend's live bytes, the managed heap) run alone,
/// after the parallel tests, so other tests' allocations do not show up in their numbers.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "process-wide";
}
