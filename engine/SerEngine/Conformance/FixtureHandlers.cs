using SerEngine.Conformance.Handlers;

namespace SerEngine.Conformance;

/// <summary>
/// The registry of fixture handlers by <c>op</c>. The engine's handlers are in <see cref="Engine"/>;
/// the models and audio assemblies register theirs the same way. Registering an op again replaces
/// its handler. Thread-safe.
/// </summary>
public static class FixtureHandlers
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, IFixtureHandler> ByOp = new(StringComparer.Ordinal);

    /// <summary>The engine's handlers: one per engine op that has fixtures.</summary>
    public static IReadOnlyList<IFixtureHandler> Engine { get; } =
    [
        new Conv2dHandler(), new MaxPool2dHandler(), new BatchNorm2dHandler(), new LinearHandler(),
        new MatMulHandler(), new SoftmaxHandler(), new CrossEntropyHandler(),
        new AdamHandler("adam"), new AdamHandler("adamw"),
    ];

    /// <summary>Adds (or replaces) the handler for <see cref="IFixtureHandler.Op"/>.</summary>
    public static void Register(IFixtureHandler handler)
    {
        lock (Gate) ByOp[handler.Op] = handler;
    }

    /// <summary>Adds (or replaces) several handlers.</summary>
    public static void Register(IEnumerable<IFixtureHandler> handlers)
    {
        foreach (var h in handlers) Register(h);
    }

    /// <summary>The handler for <paramref name="op"/>, or null when none is registered.</summary>
    public static IFixtureHandler? Find(string op)
    {
        lock (Gate) return ByOp.GetValueOrDefault(op);
    }

    /// <summary>The registered ops, sorted.</summary>
    public static IReadOnlyList<string> Ops
    {
        get { lock (Gate) return [.. ByOp.Keys.Order(StringComparer.Ordinal)]; }
    }
}
