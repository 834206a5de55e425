using SerEngine.Autograd;
using SerEngine.Backends;

namespace SerEngine;

/// <summary>
/// A dense, row-major, contiguous n-dimensional array on one backend, with optional gradient
/// tracking. Tensors created inside a <see cref="TensorScope"/> are released when it ends; no user
/// code needs to dispose tensors one by one.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private Storage? _storage;
    private bool _requiresGrad;

    internal Tensor(Storage storage, Shape shape)
    {
        if (storage.Length < shape.Size)
            throw new ArgumentException($"storage of {storage.Length} elements is too small for shape {shape}");
        _storage = storage;
        Shape = shape;
        Version = Interlocked.Increment(ref s_lastVersion);
        TensorScope.Track(this);
    }

    private static long s_lastVersion;

    /// <summary>The dimensions.</summary>
    public Shape Shape { get; }

    /// <summary>Element type.</summary>
    public DType DType => Storage.DType;

    /// <summary>Number of elements.</summary>
    public int Size => Shape.Size;

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Rank;

    /// <summary>The backend that holds the data.</summary>
    public Backend Backend => Storage.Backend;

    /// <summary>The underlying buffer (shared by views such as <see cref="Reshape(int[])"/>).</summary>
    public Storage Storage => _storage ?? throw new ObjectDisposedException(nameof(Tensor),
        $"tensor {Shape} was released (it was created in a TensorScope that has ended; call KeepAlive() to keep it)");

    /// <summary>True once released.</summary>
    public bool IsDisposed => _storage is null;

    /// <summary>
    /// A stamp that changes whenever this tensor's values are overwritten in place through the engine
    /// (<see cref="CopyFrom(ReadOnlySpan{float})"/>, optimizer steps, training-mode BatchNorm running
    /// statistics, moves between backends); stamps are unique across tensors. Caches of values derived
    /// from parameters (eval-mode fused weights) compare it to know when to rebuild. Code that writes a
    /// tensor's storage directly calls <see cref="MarkModified"/>.
    /// </summary>
    public long Version { get; private set; }

    /// <summary>Gives this tensor a new <see cref="Version"/> stamp (its values were changed in place).</summary>
    public void MarkModified() => Version = Interlocked.Increment(ref s_lastVersion);

    /// <summary>Optional name (parameters carry their state-dict name).</summary>
    public string? Name { get; set; }

    /// <summary>Whether gradients flow to this tensor. Settable on leaves only.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (Node is not null && !value) throw new InvalidOperationException("RequiresGrad can only be cleared on a leaf tensor; use Detach()");
            if (value && DType != DType.Float32) throw new InvalidOperationException($"only Float32 tensors can require gradients (this one is {DType})");
            _requiresGrad = value;
        }
    }

    /// <summary>Accumulated gradient of a leaf after <see cref="Backward(Tensor?, bool)"/>; null before.</summary>
    public Tensor? Grad { get; internal set; }

    /// <summary>The autograd node that produced this tensor (null for leaves).</summary>
    internal GradNode? Node { get; set; }

    /// <summary>True when no op produced this tensor inside the graph.</summary>
    public bool IsLeaf => Node is null;

    /// <summary>The scope that will release this tensor, if any.</summary>
    internal TensorScope? Scope { get; set; }

    // ---- creation -----------------------------------------------------------------------------

    /// <summary>An uninitialised tensor (contents undefined).</summary>
    public static Tensor Empty(Shape shape, DType dtype = DType.Float32, Backend? backend = null)
    {
        backend ??= BackendRegistry.Default;
        return new Tensor(backend.Allocate(shape.Size, dtype), shape);
    }

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(Shape shape, float value, Backend? backend = null)
    {
        var t = Empty(shape, DType.Float32, backend);
        t.Backend.Fill(t.Storage, t.Size, value);
        return t;
    }

    /// <summary>Zeros.</summary>
    public static Tensor Zeros(Shape shape, Backend? backend = null) => Full(shape, 0f, backend);

    /// <summary>Ones.</summary>
    public static Tensor Ones(Shape shape, Backend? backend = null) => Full(shape, 1f, backend);

    /// <summary>A tensor holding a copy of <paramref name="data"/> (length must equal the shape's size).</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, Shape shape, Backend? backend = null)
    {
        if (data.Length != shape.Size) throw new ArgumentException($"{data.Length} values do not fill shape {shape} ({shape.Size} elements)");
        var t = Empty(shape, DType.Float32, backend);
        t.Backend.Write(t.Storage, data);
        return t;
    }

    /// <summary>An Int32 tensor (labels, masks) holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(ReadOnlySpan<int> data, Shape shape, Backend? backend = null)
    {
        if (data.Length != shape.Size) throw new ArgumentException($"{data.Length} values do not fill shape {shape} ({shape.Size} elements)");
        var t = Empty(shape, DType.Int32, backend);
        t.Backend.Write(t.Storage, data);
        return t;
    }

    /// <summary>A one-element tensor of shape [] holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(float value, Backend? backend = null) => FromArray([value], Shape.Scalar, backend);

    /// <summary>Standard-normal samples from <paramref name="rng"/>.</summary>
    public static Tensor RandomNormal(Shape shape, Generator rng, float mean = 0f, float std = 1f, Backend? backend = null)
    {
        var data = new float[shape.Size];
        for (int i = 0; i < data.Length; i++) data[i] = mean + std * rng.NextNormal();
        return FromArray(data, shape, backend);
    }

    /// <summary>Uniform samples in [low, high) from <paramref name="rng"/>.</summary>
    public static Tensor RandomUniform(Shape shape, Generator rng, float low, float high, Backend? backend = null)
    {
        var data = new float[shape.Size];
        for (int i = 0; i < data.Length; i++) data[i] = low + (high - low) * rng.NextSingle();
        return FromArray(data, shape, backend);
    }

    // ---- reading ------------------------------------------------------------------------------

    /// <summary>Copies the values to a new host array (Float32 tensors).</summary>
    public float[] ToArray()
    {
        if (DType != DType.Float32) throw new InvalidOperationException($"ToArray() reads Float32 tensors; this one is {DType} (use ToInt32Array())");
        var a = new float[Size];
        Backend.Read(Storage, a);
        return a;
    }

    /// <summary>Copies the values to a new host array (Int32 tensors).</summary>
    public int[] ToInt32Array()
    {
        if (DType != DType.Int32) throw new InvalidOperationException($"ToInt32Array() reads Int32 tensors; this one is {DType}");
        var a = new int[Size];
        Backend.Read(Storage, a);
        return a;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        if (Size != 1) throw new InvalidOperationException($"Item() needs a one-element tensor, got shape {Shape}");
        return ToArray()[0];
    }

    // ---- identity and lifetime ----------------------------------------------------------------

    /// <summary>A tensor sharing this one's data, cut from the graph (no gradient flows through it).</summary>
    public Tensor Detach()
    {
        Storage.AddRef();
        return new Tensor(Storage, Shape);
    }

    /// <summary>A view with another shape of the same size, sharing the data (no copy). Tracks gradients.</summary>
    internal Tensor View(Shape shape)
    {
        if (shape.Size != Size) throw new ArgumentException($"cannot view shape {Shape} ({Size} elements) as {shape} ({shape.Size} elements)");
        Storage.AddRef();
        return new Tensor(Storage, shape);
    }

    /// <summary>A copy of the data on <paramref name="backend"/> (a plain copy, no graph).</summary>
    public Tensor To(Backend backend)
    {
        if (ReferenceEquals(backend, Backend)) return Detach();
        return DType == DType.Float32 ? FromArray(ToArray(), Shape, backend) : FromArray(ToInt32Array(), Shape, backend);
    }

    /// <summary>An independent copy of the data on the same backend (no graph).</summary>
    public Tensor Clone()
    {
        var t = Empty(Shape, DType, Backend);
        Backend.CopyBlocks(Storage, 0, 0, t.Storage, 0, 0, Size, 1);
        return t;
    }

    /// <summary>
    /// Moves the data to <paramref name="backend"/> in place, keeping this object's identity (so
    /// modules and optimizers holding it see the move). Leaves only; the old buffer is released.
    /// </summary>
    internal void MoveTo(Backend backend)
    {
        if (ReferenceEquals(backend, Backend)) return;
        if (Node is not null) throw new InvalidOperationException("only leaf tensors can be moved between backends");
        var old = Storage;
        var fresh = backend.Allocate(Size, DType);
        if (DType == DType.Float32) { var a = new float[Size]; old.Backend.Read(old, a); backend.Write(fresh, a); }
        else { var a = new int[Size]; old.Backend.Read(old, a); backend.Write(fresh, a); }
        _storage = fresh;
        MarkModified();
        old.Dispose();
        if (Grad is not null) { Grad.Dispose(); Grad = null; }
    }

    /// <summary>Overwrites the values in place from the host (shape must match; no graph).</summary>
    public void CopyFrom(ReadOnlySpan<float> values)
    {
        if (values.Length != Size) throw new ArgumentException($"{values.Length} values for a tensor of shape {Shape}");
        Backend.Write(Storage, values);
        MarkModified();
    }

    /// <summary>Removes this tensor from its scope so it outlives it (parameters, results to keep).</summary>
    public Tensor KeepAlive()
    {
        Scope = null;
        return this;
    }

    /// <summary>Releases the data now. Only needed outside a scope, and for large device buffers.</summary>
    public void Dispose()
    {
        var s = _storage;
        _storage = null;
        Node = null;
        s?.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"Tensor({DType}, {Shape}{(RequiresGrad ? ", requires_grad" : "")}, {(IsDisposed ? "released" : Backend.Name)})";
}
