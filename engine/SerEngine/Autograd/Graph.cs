using SerEngine.Backends;

namespace SerEngine.Autograd;

/// <summary>
/// The dynamic tape: ops call <see cref="Record"/> after computing their output, and
/// <see cref="Backward(IReadOnlyList{Tensor}, IReadOnlyList{Tensor}?, bool)"/> walks the recorded
/// nodes in reverse topological order, accumulating gradients (a tensor used twice receives the
/// sum of both contributions) and adding them into the leaves' <see cref="Tensor.Grad"/>.
/// </summary>
public static class Graph
{
    [ThreadStatic] private static int _noGradDepth;

    /// <summary>True unless inside <see cref="NoGrad"/>.</summary>
    public static bool IsGradEnabled => _noGradDepth == 0;

    /// <summary>Turns gradient tracking off until the returned handle is disposed.</summary>
    public static IDisposable NoGrad()
    {
        _noGradDepth++;
        return new NoGradHandle();
    }

    /// <summary>
    /// Attaches a node to <paramref name="output"/> when tracking is on and any input requires
    /// gradients; returns <paramref name="output"/>. <paramref name="backward"/> receives dOutput and
    /// returns one gradient per input (same shapes as the inputs, or null).
    /// </summary>
    internal static Tensor Record(string op, Tensor output, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        if (!IsGradEnabled) return output;
        bool any = false;
        foreach (var t in inputs) any |= t.RequiresGrad;
        if (!any) return output;
        output.Node = new GradNode(op, inputs, backward);
        output.RequiresGradInternal();
        return output;
    }

    /// <summary>
    /// <see cref="Record"/> for a backward that can add an input's gradient into the sum the graph already holds for that
    /// input (a tensor the graph allocated for an earlier sum and nobody else sees): <paramref name="backward"/>(dy, into)
    /// gets into[i] = that sum or null, and returns into[i] itself as input i's gradient when it added its contribution
    /// there. The result must be the float add the graph would have done (sum + contribution), so that nothing changes
    /// but a pass and a buffer (a linear layer's dx added by its GEMM into x's pending gradient). Every other gradient it
    /// returns must be a new tensor that nothing else holds: the graph may offer it to later RecordInto nodes in turn.
    /// </summary>
    internal static Tensor RecordInto(string op, Tensor output, Tensor[] inputs, Func<Tensor, Tensor?[], Tensor?[]> backward)
    {
        if (!IsGradEnabled) return output;
        bool any = false;
        foreach (var t in inputs) any |= t.RequiresGrad;
        if (!any) return output;
        output.Node = new GradNode(op, inputs, null, backward);
        output.RequiresGradInternal();
        return output;
    }

    /// <summary>
    /// Back-propagates from several outputs at once, seeding output i with <paramref name="seeds"/>[i]
    /// (ones for a one-element output when seeds is null). Frees the graph unless
    /// <paramref name="retainGraph"/>.
    /// </summary>
    public static void Backward(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor>? seeds = null, bool retainGraph = false)
    {
        if (seeds is not null && seeds.Count != outputs.Count)
            throw new ArgumentException($"{outputs.Count} outputs but {seeds.Count} seeds");
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        // gradient tensors handed to more than one consumer, and the seeds: a leaf must copy these
        var handed = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var shared = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        using var noGrad = NoGrad();
        for (int i = 0; i < outputs.Count; i++)
        {
            var o = outputs[i];
            if (!o.RequiresGrad) throw new InvalidOperationException($"output {i} {o.Shape} does not require grad: nothing to back-propagate");
            Tensor seed;
            if (seeds is null)
            {
                if (o.Size != 1) throw new InvalidOperationException($"Backward() without a seed needs a one-element output, got {o.Shape}");
                seed = Tensor.Ones(o.Shape, o.Backend);
            }
            else
            {
                seed = seeds[i];
                if (seed.Shape != o.Shape) throw new ArgumentException($"seed {i} has shape {seed.Shape} but its output has shape {o.Shape}");
            }
            shared.Add(seed);
            Accumulate(grads, o, seed);
        }

        // pending gradients nobody else sees (sums this pass allocated, RecordInto nodes' new gradients): RecordInto may add to them
        var sums = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var spent = new List<Tensor>(); // gradients a node has consumed or a sum has replaced
        foreach (var t in TopologicalOrder(outputs))
        {
            if (!grads.Remove(t, out var g)) continue;
            sums.Remove(g); // consumed: a backward may hand it on (as dy itself) to inputs that others share
            var node = t.Node;
            if (node is null)
            {
                AccumulateLeaf(t, g, adopt: !retainGraph && !shared.Contains(g));
                if (!retainGraph && !ReferenceEquals(t.Grad, g)) ReleaseSpent(g, grads, seeds); // the leaf took a copy
                continue;
            }
            if (node.Freed) throw new InvalidOperationException($"the graph through '{node.Op}' was already freed by an earlier Backward(); pass retainGraph: true to back-propagate twice");
            var into = node.BackwardIntoFn is null ? null : PendingSums(node.Inputs, grads, sums);
            var dInputs = into is null ? node.BackwardFn!(g) : node.BackwardIntoFn!(g, into);
            if (dInputs.Length != node.Inputs.Length)
                throw new InvalidOperationException($"backward of '{node.Op}' returned {dInputs.Length} gradients for {node.Inputs.Length} inputs");
            for (int i = 0; i < dInputs.Length; i++)
            {
                var input = node.Inputs[i];
                var d = dInputs[i];
                if (d is null || !input.RequiresGrad) continue;
                if (d.Shape != input.Shape)
                    throw new InvalidOperationException($"backward of '{node.Op}' gave input {i} a gradient of shape {d.Shape}, expected {input.Shape}");
                if (into is not null && ReferenceEquals(d, into[i])) continue; // added into the pending sum in place
                if (!handed.Add(d))
                {
                    shared.Add(d);
                    sums.Remove(d);
                }
                Accumulate(grads, input, d, spent, sums);
                // a RecordInto node's gradients are new tensors of its own: pending as they are, later ones may add to them
                if (into is not null && !shared.Contains(d) && ReferenceEquals(grads[input], d)) sums.Add(d);
            }
            if (!retainGraph)
            {
                node.Free();
                spent.Add(g);
                foreach (var done in spent) ReleaseSpent(done, grads, seeds);
            }
            spent.Clear();
        }
    }

    /// <summary>
    /// Releases a gradient whose node has run, unless a pending gradient is the same tensor (an op
    /// that passes dy on unchanged) or the caller gave it as a seed: its buffer then serves the
    /// gradients still to come, so a step's peak memory holds the gradients in flight, not all of them.
    /// </summary>
    private static void ReleaseSpent(Tensor g, Dictionary<Tensor, Tensor> grads, IReadOnlyList<Tensor>? seeds)
    {
        if (seeds is not null)
            foreach (var seed in seeds)
                if (ReferenceEquals(seed, g)) return;
        foreach (var pending in grads.Values)
            if (ReferenceEquals(pending, g)) return;
        g.Dispose(); // a view's buffer stays while another tensor holds it (storages count references)
    }

    // per input of a RecordInto node: its pending gradient when that is in `sums` (seen by nobody else)
    // and the input appears once among the node's inputs, else null
    private static Tensor?[] PendingSums(Tensor[] inputs, Dictionary<Tensor, Tensor> grads, HashSet<Tensor> sums)
    {
        var into = new Tensor?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!inputs[i].RequiresGrad || !grads.TryGetValue(inputs[i], out var pending) || !sums.Contains(pending)) continue;
            bool once = true;
            for (int j = 0; j < inputs.Length; j++) once &= j == i || !ReferenceEquals(inputs[j], inputs[i]);
            if (once) into[i] = pending;
        }
        return into;
    }

    // adds g to t's pending gradient; the two addends of a sum go to `spent` (released by the caller, see ReleaseSpent)
    private static void Accumulate(Dictionary<Tensor, Tensor> grads, Tensor t, Tensor g, List<Tensor>? spent = null, HashSet<Tensor>? sums = null)
    {
        if (grads.TryGetValue(t, out var existing))
        {
            var sum = Tensor.Empty(t.Shape, DType.Float32, t.Backend);
            t.Backend.Binary(BinaryOp.Add, existing.Storage, existing.Shape, g.Storage, g.Shape, sum.Storage, sum.Shape);
            grads[t] = sum;
            sums?.Add(sum);
            spent?.Add(existing);
            spent?.Add(g);
        }
        else
        {
            grads[t] = g;
        }
    }

    /// <summary>
    /// Adds g into the leaf's gradient. The first gradient is taken as it is when
    /// <paramref name="adopt"/> and nothing else shares its storage (a fresh tensor from one backward
    /// function: taking it out of its scope saves a copy per parameter and step), else copied.
    /// </summary>
    private static void AccumulateLeaf(Tensor leaf, Tensor g, bool adopt)
    {
        if (leaf.Grad is null)
        {
            if (adopt && !g.Storage.IsShared && g.Node is null) leaf.Grad = g.KeepAlive();
            else using (TensorScope.Suspend()) leaf.Grad = g.Clone();
        }
        else
        {
            var acc = leaf.Grad;
            leaf.Backend.Binary(BinaryOp.Add, acc.Storage, acc.Shape, g.Storage, g.Shape, acc.Storage, acc.Shape);
        }
    }

    /// <summary>Tensors reachable from the outputs, each after every tensor that consumes it.</summary>
    private static List<Tensor> TopologicalOrder(IReadOnlyList<Tensor> outputs)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor T, int Next)>();
        foreach (var root in outputs)
        {
            if (!visited.Add(root)) continue;
            stack.Push((root, 0));
            while (stack.Count > 0)
            {
                var (t, next) = stack.Pop();
                var inputs = t.Node?.Inputs ?? [];
                if (next < inputs.Length)
                {
                    stack.Push((t, next + 1));
                    var child = inputs[next];
                    if (child.RequiresGrad && visited.Add(child)) stack.Push((child, 0));
                }
                else
                {
                    order.Add(t);
                }
            }
        }
        order.Reverse();
        return order;
    }

    private sealed class NoGradHandle : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _noGradDepth--;
        }
    }
}
