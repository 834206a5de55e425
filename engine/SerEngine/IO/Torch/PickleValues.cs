namespace SerEngine.IO.Torch;

// The values the restricted unpickler builds. Python's None, bool, int, float, str and bytes map to
// null, bool, long (System.Numerics.BigInteger beyond 64 bits), double, string and byte[]; a Python
// list to List<object?>. Everything else that may appear in a state dict is one of the types below.
// Nothing here is ever looked up by name through reflection: globals resolve through an allow-list
// to a TorchGlobalKind.

/// <summary>A Python tuple.</summary>
internal sealed class PyTuple(object?[] items)
{
    /// <summary>The elements.</summary>
    public object?[] Items { get; } = items;

    /// <summary>An empty tuple.</summary>
    public static PyTuple Empty { get; } = new([]);
}

/// <summary>A Python dict or collections.OrderedDict: insertion order kept, string keys indexed.</summary>
internal sealed class PyDict
{
    private readonly List<KeyValuePair<object?, object?>> _items = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    /// <summary>Entries in insertion order.</summary>
    public IReadOnlyList<KeyValuePair<object?, object?>> Items => _items;

    /// <summary>Sets a key (a repeated string key replaces its value in place, as in Python).</summary>
    public void Set(object? key, object? value)
    {
        if (key is string s)
        {
            if (_index.TryGetValue(s, out int i)) { _items[i] = new(key, value); return; }
            _index[s] = _items.Count;
        }
        _items.Add(new(key, value));
    }

    /// <summary>The value of a string key, if present.</summary>
    public bool TryGet(string key, out object? value)
    {
        if (_index.TryGetValue(key, out int i)) { value = _items[i].Value; return true; }
        value = null;
        return false;
    }
}

/// <summary>What an allowed global is.</summary>
internal enum TorchGlobalKind
{
    /// <summary><c>collections.OrderedDict</c>.</summary>
    OrderedDict,

    /// <summary><c>torch._utils._rebuild_tensor_v2</c>.</summary>
    RebuildTensorV2,

    /// <summary><c>torch._utils._rebuild_tensor</c>.</summary>
    RebuildTensor,

    /// <summary><c>torch._utils._rebuild_parameter</c>.</summary>
    RebuildParameter,

    /// <summary><c>torch._utils._rebuild_parameter_with_state</c>.</summary>
    RebuildParameterWithState,

    /// <summary>A storage class such as <c>torch.FloatStorage</c> (only named in persistent ids).</summary>
    Storage,

    /// <summary><c>torch._tensor._rebuild_from_type_v2</c>: a rebuild function applied, then a type and state (ignored).</summary>
    RebuildFromTypeV2,

    /// <summary><c>torch.Tensor</c> or <c>torch.nn.parameter.Parameter</c>: only an argument of RebuildFromTypeV2.</summary>
    TensorType,
}

/// <summary>An allowed global, by its dotted name.</summary>
internal sealed record PyGlobal(string Name, TorchGlobalKind Kind, TorchStorageType? Storage = null);

/// <summary>Element types of torch storages.</summary>
internal enum TorchScalar { Float32, Float64, Float16, BFloat16, Int64, Int32, Int16, Int8, UInt8, Bool }

/// <summary>A storage class: its element type and size in bytes.</summary>
internal sealed record TorchStorageType(string Name, TorchScalar Scalar, int ElementSize);

/// <summary>A storage named by a persistent id: its key, element type and element count.</summary>
internal sealed record StorageRef(string Key, TorchStorageType Type, long Numel);

/// <summary>A tensor view of a storage: offset, sizes and strides in elements.</summary>
internal sealed record TensorRef(StorageRef Storage, long Offset, int[] Size, long[] Stride);
