namespace SerEngine.Backends;

/// <summary>
/// A GEMM A operand prepared once by <see cref="Backend.PackGemmA"/> for many products
/// (<see cref="Backend.GemmPackedA"/>): a weight matrix multiplied by a new right-hand side each call.
/// The base form just keeps the source storage (the backend multiplies it as a plain A); a backend
/// may attach its own packed layout. It reads <see cref="Source"/> as it was when packed: after the
/// source changes, pack again.
/// </summary>
public class PackedGemmA
{
    /// <summary>Keeps <paramref name="source"/> as the operand: [rows, depth], or [depth, rows] when <paramref name="trans"/>.</summary>
    public PackedGemmA(Backend backend, Storage source, bool trans, int rows, int depth)
    {
        Backend = backend;
        Source = source;
        Trans = trans;
        Rows = rows;
        Depth = depth;
    }

    /// <summary>The backend that packed it (only that backend multiplies it).</summary>
    public Backend Backend { get; }

    /// <summary>The matrix as given: [Rows, Depth], or [Depth, Rows] when <see cref="Trans"/>.</summary>
    public Storage Source { get; }

    /// <summary>Whether <see cref="Source"/> is stored transposed.</summary>
    public bool Trans { get; }

    /// <summary>m: rows of op(A) and of the product.</summary>
    public int Rows { get; }

    /// <summary>k: columns of op(A), the depth of the product.</summary>
    public int Depth { get; }
}
