using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace SerEngine.IO.Torch;

/// <summary>
/// A restricted unpickler for the pickles inside PyTorch checkpoints (protocols 2 to 5). It knows
/// the opcodes state dicts use, resolves globals only through <see cref="TorchGlobals"/>, hands
/// persistent ids to a callback, and never executes or reflects on anything. Limits: memo entries
/// and indices, stack size, MARK depth, string and integer lengths, values pushed. Every failure is a
/// <see cref="TorchCheckpointFormatException"/> naming the source, the place and the byte offset of
/// the opcode.
/// </summary>
internal sealed class PickleMachine
{
    /// <summary>Most memo entries, and the largest memo index accepted.</summary>
    public const int MaxMemo = 1 << 20, MaxMemoIndex = 1 << 24;

    /// <summary>Most values on the stack, and the deepest MARK nesting.</summary>
    public const int MaxStack = 1 << 20, MaxMarks = 1000;

    /// <summary>Longest str/bytes value, and longest LONG1/LONG4 integer in bytes.</summary>
    public const int MaxString = 16 << 20, MaxLongBytes = 64;

    /// <summary>
    /// Most values one pickle may push (every value a container holds was pushed once): far above what
    /// a real state dict pushes (a few dozen per tensor), low enough that a data.pkl of tiny APPENDs,
    /// which deflates to almost nothing, cannot build gigabytes of objects.
    /// </summary>
    public const int MaxValues = 1 << 21;

    private static readonly object Mark = new();

    private readonly byte[] _data;
    private readonly int _end;
    private readonly string _source, _place;
    private readonly Func<object?, object> _persistentLoad;
    private List<object?> _stack = [];
    private readonly List<List<object?>> _marks = [];
    private readonly Dictionary<int, object?> _memo = [];
    private int _pos, _op, _values;

    /// <summary>
    /// A machine over <paramref name="data"/>[<paramref name="start"/>, <paramref name="end"/>);
    /// errors read "SOURCE: PLACE at byte N: PROBLEM" with N an index into <paramref name="data"/>.
    /// </summary>
    public PickleMachine(byte[] data, int start, int end, string source, string place, Func<object?, object> persistentLoad)
    {
        _data = data;
        _pos = start;
        _end = end;
        _source = source;
        _place = place;
        _persistentLoad = persistentLoad;
    }

    /// <summary>Where the next pickle starts (after <see cref="Load"/>, the byte after STOP).</summary>
    public int Position => _pos;

    /// <summary>Runs one pickle up to its STOP and returns its value.</summary>
    public object? Load()
    {
        _stack = [];
        _marks.Clear();
        _memo.Clear();
        _values = 0;
        while (true)
        {
            _op = _pos;
            if (_pos >= _end) throw Fail("pickle ends without STOP (truncated)");
            byte code = _data[_pos++];
            try
            {
                if (code == (byte)'.') return StopValue();
                Step(code);
            }
            catch (PickleRefusal r)
            {
                throw Fail(r.Message);
            }
            if (_stack.Count > MaxStack) throw Fail($"stack holds more than {MaxStack} values");
        }
    }

    private object? StopValue()
    {
        if (_stack.Count != 1 || _marks.Count != 0)
            throw new PickleRefusal($"STOP with {_stack.Count} values on the stack and {_marks.Count} open MARKs (expected exactly one value)");
        return Pop();
    }

    private void Step(byte code)
    {
        switch (code)
        {
            case 0x80: // PROTO
                int proto = ReadByte();
                if (proto is < 2 or > 5) throw new PickleRefusal($"pickle protocol {proto} is not supported (2 to 5)");
                break;
            case 0x95: // FRAME: a length hint, the opcodes follow inline
                ulong frame = ReadU64();
                if (frame > (ulong)(_end - _pos)) throw new PickleRefusal($"FRAME of {frame} bytes runs past the end of the pickle ({_end - _pos} left)");
                break;
            case (byte)'(': // MARK
                if (_marks.Count >= MaxMarks) throw new PickleRefusal($"MARKs nested deeper than {MaxMarks}");
                _marks.Add(_stack);
                _stack = [];
                break;
            case (byte)'0': Pop(); break; // POP
            case (byte)'1': PopMark(); break; // POP_MARK
            case (byte)'2': Push(Peek()); break; // DUP
            case (byte)'N': Push(null); break;
            case 0x88: Push(true); break; // NEWTRUE
            case 0x89: Push(false); break; // NEWFALSE
            case (byte)'K': Push((long)ReadByte()); break; // BININT1
            case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
            case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
            case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
            case 0x8b: Push(ReadLong(ReadLength(BinaryPrimitives.ReadInt32LittleEndian(Take(4)), MaxLongBytes, "LONG4"))); break;
            case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
            case (byte)'X': Push(ReadUtf8(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // BINUNICODE
            case 0x8c: Push(ReadUtf8(ReadByte())); break; // SHORT_BINUNICODE
            case 0x8d: Push(ReadUtf8(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))); break; // BINUNICODE8
            case (byte)'T': Push(ReadLatin1(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // BINSTRING (Python 2 str)
            case (byte)'U': Push(ReadLatin1(ReadByte())); break; // SHORT_BINSTRING
            case (byte)'B': Push(ReadBytes(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // BINBYTES
            case (byte)'C': Push(ReadBytes(ReadByte())); break; // SHORT_BINBYTES
            case 0x8e: Push(ReadBytes(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)))); break; // BINBYTES8
            case (byte)')': Push(PyTuple.Empty); break; // EMPTY_TUPLE
            case 0x85: Push(new PyTuple([Pop()])); break; // TUPLE1
            case 0x86: { var b = Pop(); var a = Pop(); Push(new PyTuple([a, b])); break; } // TUPLE2
            case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new PyTuple([a, b, c])); break; } // TUPLE3
            case (byte)'t': Push(new PyTuple([.. PopMark()])); break; // TUPLE
            case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
            case (byte)'l': Push(PopMark()); break; // LIST
            case (byte)'}': Push(new PyDict()); break; // EMPTY_DICT
            case (byte)'d': { var items = PopMark(); var d = new PyDict(); SetItems(d, items); Push(d); break; } // DICT
            case (byte)'a': { var v = Pop(); AsList(Peek(), "APPEND").Add(v); break; } // APPEND
            case (byte)'e': { var items = PopMark(); AsList(Peek(), "APPENDS").AddRange(items); break; } // APPENDS
            case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(Peek(), "SETITEM").Set(k, v); break; } // SETITEM
            case (byte)'u': { var items = PopMark(); SetItems(AsDict(Peek(), "SETITEMS"), items); break; } // SETITEMS
            case (byte)'q': Put(ReadByte()); break; // BINPUT
            case (byte)'r': Put(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))); break; // LONG_BINPUT
            case 0x94: Put((uint)_memo.Count); break; // MEMOIZE
            case (byte)'h': Push(Get(ReadByte())); break; // BINGET
            case (byte)'j': Push(Get(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // LONG_BINGET
            case (byte)'c': { var module = ReadLine(); var name = ReadLine(); Push(TorchGlobals.Resolve(module, name)); break; } // GLOBAL
            case 0x93: // STACK_GLOBAL
            {
                var name = Pop();
                var module = Pop();
                if (module is not string m || name is not string n)
                    throw new PickleRefusal($"STACK_GLOBAL needs two strings, found {TorchGlobals.TypeName(module)} and {TorchGlobals.TypeName(name)}");
                Push(TorchGlobals.Resolve(m, n));
                break;
            }
            case (byte)'R': { var args = Pop(); var f = Pop(); Push(TorchGlobals.Call(f, args)); break; } // REDUCE
            case 0x81: { var args = Pop(); var cls = Pop(); Push(TorchGlobals.New(cls, args)); break; } // NEWOBJ
            case 0x92: // NEWOBJ_EX
            {
                var kwargs = Pop();
                var args = Pop();
                var cls = Pop();
                if (kwargs is not PyDict { Items.Count: 0 }) throw new PickleRefusal("NEWOBJ_EX with keyword arguments is not allowed");
                Push(TorchGlobals.New(cls, args));
                break;
            }
            case (byte)'b': Build(Pop(), Peek()); break; // BUILD
            case (byte)'Q': Push(_persistentLoad(Pop())); break; // BINPERSID
            case 0x82 or 0x83 or 0x84:
                throw new PickleRefusal($"opcode EXT{(code == 0x84 ? 4 : code - 0x81)} (copyreg extension registry) is not allowed in a checkpoint");
            default:
                throw new PickleRefusal(code is >= 0x20 and < 0x7f
                    ? $"unsupported pickle opcode 0x{code:x2} ('{(char)code}')"
                    : $"unsupported pickle opcode 0x{code:x2}");
        }
    }

    /// <summary>BUILD (obj.__setstate__): only attribute dicts on dicts and tensors, which are ignored.</summary>
    private static void Build(object? state, object? target)
    {
        if (target is not (PyDict or TensorRef))
            throw new PickleRefusal($"BUILD on a {TorchGlobals.TypeName(target)} is not allowed (only on dicts and tensors)");
        bool ok = state is null or PyDict || state is PyTuple { Items: [null or PyDict, null or PyDict] };
        if (!ok) throw new PickleRefusal($"BUILD state is a {TorchGlobals.TypeName(state)}, not an attribute dict");
    }

    private static void SetItems(PyDict d, List<object?> items)
    {
        if (items.Count % 2 != 0) throw new PickleRefusal($"SETITEMS with an odd number ({items.Count}) of keys and values");
        for (int i = 0; i < items.Count; i += 2) d.Set(items[i], items[i + 1]);
    }

    private static List<object?> AsList(object? v, string op) =>
        v as List<object?> ?? throw new PickleRefusal($"{op} on a {TorchGlobals.TypeName(v)}, not a list");

    private static PyDict AsDict(object? v, string op) =>
        v as PyDict ?? throw new PickleRefusal($"{op} on a {TorchGlobals.TypeName(v)}, not a dict");

    private void Push(object? v)
    {
        if (++_values > MaxValues) throw new PickleRefusal($"more than {MaxValues} values in one pickle (a state dict needs far fewer)");
        _stack.Add(v);
    }

    private object? Pop()
    {
        if (_stack.Count == 0) throw new PickleRefusal(_marks.Count > 0 ? "pop across a MARK (stack empty above the mark)" : "pop from an empty stack");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek() =>
        _stack.Count > 0 ? _stack[^1] : throw new PickleRefusal("the stack is empty");

    /// <summary>The values pushed since the last MARK; the stack below it comes back.</summary>
    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw new PickleRefusal("no MARK to pop to");
        var items = _stack;
        _stack = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        return items;
    }

    private void Put(uint index)
    {
        if (index > MaxMemoIndex) throw new PickleRefusal($"memo index {index} is beyond the limit of {MaxMemoIndex}");
        if (!_memo.ContainsKey((int)index) && _memo.Count >= MaxMemo) throw new PickleRefusal($"memo holds more than {MaxMemo} entries");
        _memo[(int)index] = Peek();
    }

    private object? Get(uint index)
    {
        if (index > MaxMemoIndex || !_memo.TryGetValue((int)index, out var v))
            throw new PickleRefusal($"memo index {index} was never stored");
        return v;
    }

    private byte ReadByte() => Take(1)[0];

    private ReadOnlySpan<byte> Take(long n)
    {
        if (n > _end - _pos) throw new PickleRefusal($"needs {n} more bytes but the pickle ends after {_end - _pos} (truncated)");
        var s = _data.AsSpan(_pos, (int)n);
        _pos += (int)n;
        return s;
    }

    private int ReadLength(long n, long max, string what)
    {
        if (n < 0) throw new PickleRefusal($"{what} length {n} is negative");
        if (n > max) throw new PickleRefusal($"{what} of {n} bytes is longer than the limit of {max}");
        if (n > _end - _pos) throw new PickleRefusal($"{what} of {n} bytes runs past the end of the pickle (truncated: {_end - _pos} bytes left)");
        return (int)n;
    }

    private int ReadLength(ulong n, string what) => ReadLength(n > long.MaxValue ? long.MaxValue : (long)n, MaxString, what);

    private string ReadUtf8(ulong n)
    {
        var bytes = Take(ReadLength(n, "string"));
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new PickleRefusal("string is not valid UTF-8");
        }
    }

    private string ReadLatin1(ulong n) => Encoding.Latin1.GetString(Take(ReadLength(n, "string")));

    private byte[] ReadBytes(ulong n) => Take(ReadLength(n, "bytes")).ToArray();

    private object ReadLong(int n)
    {
        var bytes = Take(ReadLength(n, MaxLongBytes, "LONG"));
        if (n == 0) return 0L;
        var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : big; // boxed as long: a bare ternary would widen the long back to BigInteger
    }

    private ulong ReadU64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    /// <summary>A newline-terminated ASCII line of GLOBAL (module or name), at most 256 characters.</summary>
    private string ReadLine()
    {
        int limit = Math.Min(_end, _pos + 257);
        int nl = Array.IndexOf(_data, (byte)'\n', _pos, limit - _pos);
        if (nl < 0) throw new PickleRefusal("GLOBAL name is not newline-terminated within 256 bytes");
        var s = Encoding.Latin1.GetString(_data, _pos, nl - _pos);
        _pos = nl + 1;
        return s;
    }

    private TorchCheckpointFormatException Fail(string problem) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{_source}: {_place} at byte {_op}: {problem}"));
}
