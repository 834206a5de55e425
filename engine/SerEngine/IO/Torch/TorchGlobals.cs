namespace SerEngine.IO.Torch;

/// <summary>A problem the unpickler reports with the offset of the opcode it was running.</summary>
internal sealed class PickleRefusal(string problem) : Exception(problem);

/// <summary>
/// The allow-list of Python globals a state dict may name, and what calling each one means. A name
/// not listed here is refused at the GLOBAL / STACK_GLOBAL opcode that names it; nothing is ever
/// resolved by reflection or executed.
/// </summary>
internal static class TorchGlobals
{
    private static readonly Dictionary<string, PyGlobal> Allowed = Build();

    private static Dictionary<string, PyGlobal> Build()
    {
        var d = new Dictionary<string, PyGlobal>(StringComparer.Ordinal);
        void Add(string name, TorchGlobalKind kind, TorchStorageType? st = null) => d[name] = new PyGlobal(name, kind, st);
        Add("collections.OrderedDict", TorchGlobalKind.OrderedDict);
        Add("torch._utils._rebuild_tensor_v2", TorchGlobalKind.RebuildTensorV2);
        Add("torch._utils._rebuild_tensor", TorchGlobalKind.RebuildTensor);
        Add("torch._utils._rebuild_parameter", TorchGlobalKind.RebuildParameter);
        Add("torch._utils._rebuild_parameter_with_state", TorchGlobalKind.RebuildParameterWithState);
        Add("torch._tensor._rebuild_from_type_v2", TorchGlobalKind.RebuildFromTypeV2);
        Add("torch.Tensor", TorchGlobalKind.TensorType);
        Add("torch.nn.parameter.Parameter", TorchGlobalKind.TensorType);
        (string Prefix, TorchScalar Scalar, int Size)[] storages =
        [
            ("Float", TorchScalar.Float32, 4), ("Double", TorchScalar.Float64, 8), ("Half", TorchScalar.Float16, 2),
            ("BFloat16", TorchScalar.BFloat16, 2), ("Long", TorchScalar.Int64, 8), ("Int", TorchScalar.Int32, 4),
            ("Short", TorchScalar.Int16, 2), ("Char", TorchScalar.Int8, 1), ("Byte", TorchScalar.UInt8, 1), ("Bool", TorchScalar.Bool, 1),
        ];
        foreach (var module in new[] { "torch", "torch.cuda" })
            foreach (var (prefix, scalar, size) in storages)
            {
                var name = $"{module}.{prefix}Storage";
                Add(name, TorchGlobalKind.Storage, new TorchStorageType(name, scalar, size));
            }
        foreach (var name in new[] { "torch.UntypedStorage", "torch.storage.UntypedStorage" })
            Add(name, TorchGlobalKind.Storage, new TorchStorageType(name, TorchScalar.UInt8, 1));
        return d;
    }

    /// <summary>The allowed global <c>module.name</c>, or a refusal naming it.</summary>
    public static PyGlobal Resolve(string module, string name)
    {
        var full = $"{module}.{name}";
        if (Allowed.TryGetValue(full, out var g)) return g;
        throw new PickleRefusal($"global '{Printable(full)}' is not allowed in a checkpoint (only state-dict types)");
    }

    /// <summary>REDUCE: <paramref name="callable"/>(*<paramref name="args"/>) for the allowed callables.</summary>
    public static object Call(object? callable, object? args)
    {
        if (callable is not PyGlobal g) throw new PickleRefusal($"REDUCE needs an allowed callable, found {TypeName(callable)}");
        if (args is not PyTuple t) throw new PickleRefusal($"REDUCE on '{g.Name}' needs a tuple of arguments, found {TypeName(args)}");
        var a = t.Items;
        switch (g.Kind)
        {
            case TorchGlobalKind.OrderedDict:
                return NewOrderedDict(a);
            case TorchGlobalKind.RebuildTensorV2:
                if (a.Length is < 6 or > 7) throw Arity(g, "6 or 7", a.Length);
                return RebuildTensor(g, a);
            case TorchGlobalKind.RebuildTensor:
                if (a.Length != 4) throw Arity(g, "4", a.Length);
                return RebuildTensor(g, a);
            case TorchGlobalKind.RebuildParameter:
            case TorchGlobalKind.RebuildParameterWithState:
                int want = g.Kind == TorchGlobalKind.RebuildParameter ? 3 : 4;
                if (a.Length != want) throw Arity(g, want.ToString(System.Globalization.CultureInfo.InvariantCulture), a.Length);
                if (a[0] is not TensorRef data) throw new PickleRefusal($"'{g.Name}' needs a tensor as its first argument, found {TypeName(a[0])}");
                return data;
            case TorchGlobalKind.RebuildFromTypeV2: // (func, type, args, state): func(*args); the type and attribute state are dropped
                if (a.Length != 4) throw Arity(g, "4", a.Length);
                if (a[0] is not PyGlobal { Kind: TorchGlobalKind.RebuildTensorV2 or TorchGlobalKind.RebuildTensor or TorchGlobalKind.RebuildParameter or TorchGlobalKind.RebuildParameterWithState })
                    throw new PickleRefusal($"'{g.Name}' needs a tensor rebuild function, found {TypeName(a[0])}");
                if (a[1] is not PyGlobal { Kind: TorchGlobalKind.TensorType })
                    throw new PickleRefusal($"'{g.Name}' rebuilds only torch.Tensor or torch.nn.parameter.Parameter, found {TypeName(a[1])}");
                if (a[3] is not (null or PyDict)) throw new PickleRefusal($"'{g.Name}': state is a {TypeName(a[3])}, not a dict");
                return Call(a[0], a[2]);
            default:
                throw new PickleRefusal($"global '{g.Name}' cannot be called in a checkpoint");
        }
    }

    /// <summary>NEWOBJ: <c>cls.__new__(cls, *args)</c>, allowed for OrderedDict only.</summary>
    public static object New(object? cls, object? args)
    {
        if (cls is not PyGlobal { Kind: TorchGlobalKind.OrderedDict })
            throw new PickleRefusal($"NEWOBJ needs collections.OrderedDict, found {TypeName(cls)}");
        if (args is not PyTuple) throw new PickleRefusal($"NEWOBJ needs a tuple of arguments, found {TypeName(args)}");
        return new PyDict();
    }

    private static PyDict NewOrderedDict(object?[] a)
    {
        var d = new PyDict();
        if (a.Length == 0) return d;
        if (a.Length != 1 || a[0] is not List<object?> pairs) throw new PickleRefusal("collections.OrderedDict takes no arguments or one list of pairs");
        foreach (var p in pairs)
        {
            if (p is not PyTuple { Items.Length: 2 } kv) throw new PickleRefusal($"collections.OrderedDict: an item is a {TypeName(p)}, not a (key, value) pair");
            d.Set(kv.Items[0], kv.Items[1]);
        }
        return d;
    }

    /// <summary>_rebuild_tensor[_v2](storage, storage_offset, size, stride, ...): checked against the storage now.</summary>
    private static TensorRef RebuildTensor(PyGlobal g, object?[] a)
    {
        if (a[0] is not StorageRef storage) throw new PickleRefusal($"'{g.Name}' needs a storage as its first argument, found {TypeName(a[0])}");
        if (a[1] is not long offset || offset < 0) throw new PickleRefusal($"'{g.Name}': storage offset {Describe(a[1])} is not an int >= 0");
        var size = Ints(g, "size", a[2]);
        var stride = Ints(g, "stride", a[3]);
        if (stride.Length != size.Length)
            throw new PickleRefusal($"'{g.Name}': size has {size.Length} dims but stride has {stride.Length}");
        long count = 1, last = offset;
        var dims = new int[size.Length];
        for (int i = 0; i < size.Length; i++)
        {
            if (size[i] is < 0 or > int.MaxValue) throw new PickleRefusal($"'{g.Name}': size {Shape(size)} has a dim outside [0, {int.MaxValue}]");
            if (stride[i] is < 0 or > int.MaxValue) throw new PickleRefusal($"'{g.Name}': stride {Shape(stride)} has a step outside [0, {int.MaxValue}]");
            dims[i] = (int)size[i];
            count *= size[i];
            if (count > int.MaxValue) throw new PickleRefusal($"'{g.Name}': size {Shape(size)} has more than {int.MaxValue} elements");
        }
        if (count > 0)
        {
            try
            {
                for (int i = 0; i < size.Length; i++) last = checked(last + (size[i] - 1) * stride[i]); // 16 dims of 2^62 each could wrap a long
            }
            catch (OverflowException)
            {
                throw new PickleRefusal($"'{g.Name}': size {Shape(size)} with stride {Shape(stride)} at offset {offset} reaches past element {long.MaxValue}, but storage '{storage.Key}' holds {storage.Numel} elements");
            }
        }
        if (count > 0 && last >= storage.Numel)
            throw new PickleRefusal($"'{g.Name}': size {Shape(size)} with stride {Shape(stride)} at offset {offset} reaches element {last}, but storage '{storage.Key}' holds {storage.Numel} elements");
        if (count == 0 && offset > storage.Numel)
            throw new PickleRefusal($"'{g.Name}': storage offset {offset} is past the end of storage '{storage.Key}' ({storage.Numel} elements)");
        return new TensorRef(storage, offset, dims, stride);
    }

    private static long[] Ints(PyGlobal g, string what, object? value)
    {
        if (value is not PyTuple t) throw new PickleRefusal($"'{g.Name}': {what} is a {TypeName(value)}, not a tuple of ints");
        if (t.Items.Length > 16) throw new PickleRefusal($"'{g.Name}': {what} has {t.Items.Length} dims (at most 16)");
        var r = new long[t.Items.Length];
        for (int i = 0; i < r.Length; i++)
            r[i] = t.Items[i] is long v ? v : throw new PickleRefusal($"'{g.Name}': {what} holds a {TypeName(t.Items[i])}, not an int");
        return r;
    }

    private static string Shape(long[] dims) => "(" + string.Join(", ", dims) + ")";

    private static PickleRefusal Arity(PyGlobal g, string want, int got) => new($"'{g.Name}' takes {want} arguments, got {got}");

    private static string Describe(object? v) => v is long or double ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)! : TypeName(v);

    /// <summary>A short Python-style type name for messages (never the value, never recursive).</summary>
    public static string TypeName(object? v) => v switch
    {
        null => "None",
        bool => "bool",
        long or System.Numerics.BigInteger => "int",
        double => "float",
        string => "str",
        byte[] => "bytes",
        List<object?> => "list",
        PyTuple => "tuple",
        PyDict => "dict",
        PyGlobal g => $"global '{g.Name}'",
        StorageRef => "storage",
        TensorRef => "tensor",
        _ => "object",
    };

    /// <summary>Replaces control and non-ASCII characters so a hostile name stays on one line.</summary>
    public static string Printable(string s)
    {
        if (s.Length > 200) s = s[..200] + "...";
        var chars = s.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
            if (chars[i] < 0x20 || chars[i] > 0x7e) chars[i] = '?';
        return new string(chars);
    }
}
