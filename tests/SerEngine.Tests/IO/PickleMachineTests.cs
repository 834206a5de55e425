using System.Numerics;
using SerEngine.IO.Torch;

namespace SerEngine.Tests.IO;

/// <summary>The restricted unpickler on hand-assembled opcode sequences.</summary>
public class PickleMachineTests
{
    private static object? Run(byte[] pickle, Func<object?, object>? persistentLoad = null) =>
        new PickleMachine(pickle, 0, pickle.Length, "test.pkl", "data.pkl", persistentLoad ?? (_ => throw new PickleRefusal("no persistent ids"))).Load();

    private static string Refusal(byte[] pickle) =>
        Assert.Throws<TorchCheckpointFormatException>(() => Run(pickle)).Message;

    private static byte[] B(params object[] parts) =>
        [.. parts.SelectMany(p => p switch { string s => System.Text.Encoding.Latin1.GetBytes(s), byte[] b => b, int i => [(byte)i], _ => throw new ArgumentException("part") })];

    [Fact]
    public void ScalarsContainersAndMemoBuildPythonValues()
    {
        // {'a': [1.5, True, None, b'xy', 'é', 2**70, -3, 300, 70000], 'b': ('a' memo-ed, dup)}
        var p = B(0x80, 2, "}q", 0, "(X", new byte[] { 1, 0, 0, 0 }, "aq", 1, "(",
            "G", new byte[] { 0x3f, 0xf8, 0, 0, 0, 0, 0, 0 }, 0x88, "N", "C", 2, "xy", 0x8c, 2, new byte[] { 0xc3, 0xa9 },
            0x8a, 9, new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0x40 }, "J", new byte[] { 0xfd, 0xff, 0xff, 0xff }, "M", new byte[] { 0x2c, 0x01 }, "J", new byte[] { 0x70, 0x11, 0x01, 0 },
            "lX", new byte[] { 1, 0, 0, 0 }, "bh", 1, "2", 0x86, "u.");
        var d = Assert.IsType<PyDict>(Run(p));
        Assert.True(d.TryGet("a", out var a));
        var list = Assert.IsType<List<object?>>(a);
        Assert.Equal(1.5, list[0]);
        Assert.Equal(true, list[1]);
        Assert.Null(list[2]);
        Assert.Equal("xy"u8.ToArray(), list[3]);
        Assert.Equal("é", list[4]);
        Assert.Equal(BigInteger.Pow(2, 70), list[5]);
        Assert.Equal(-3L, list[6]);
        Assert.Equal(300L, list[7]);
        Assert.Equal(70000L, list[8]);
        Assert.True(d.TryGet("b", out var b));
        Assert.Equal(["a", "a"], Assert.IsType<PyTuple>(b).Items);
    }

    [Fact]
    public void PersistentIdsGoThroughTheCallback()
    {
        var p = B(0x80, 2, "X", new byte[] { 3, 0, 0, 0 }, "abcQ.");
        Assert.Equal("got abc", Run(p, pid => $"got {pid}"));
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 1, (byte)'N', (byte)'.' }, "data.pkl at byte 0: pickle protocol 1 is not supported (2 to 5)")]
    [InlineData(new byte[] { 0x80, 2, (byte)'I', (byte)'1', (byte)'\n', (byte)'.' }, "data.pkl at byte 2: unsupported pickle opcode 0x49 ('I')")]
    [InlineData(new byte[] { 0x80, 2, 0x82, 1, (byte)'.' }, "opcode EXT1 (copyreg extension registry) is not allowed in a checkpoint")]
    [InlineData(new byte[] { 0x80, 2, (byte)'N', (byte)'N', (byte)'.' }, "data.pkl at byte 4: STOP with 2 values on the stack and 0 open MARKs (expected exactly one value)")]
    [InlineData(new byte[] { 0x80, 2, (byte)'N', (byte)')', (byte)'R', (byte)'.' }, "data.pkl at byte 4: REDUCE needs an allowed callable, found None")]
    [InlineData(new byte[] { 0x80, 2, (byte)']', (byte)'N', (byte)'b', (byte)'.' }, "BUILD on a list is not allowed (only on dicts and tensors)")]
    [InlineData(new byte[] { 0x80, 2, (byte)'}', (byte)'(', (byte)'N', (byte)'u', (byte)'.' }, "SETITEMS with an odd number (1) of keys and values")]
    [InlineData(new byte[] { 0x80, 2, (byte)'N', (byte)'a', (byte)'.' }, "data.pkl at byte 3: the stack is empty")]
    [InlineData(new byte[] { 0x80, 2, (byte)'0', (byte)'.' }, "data.pkl at byte 2: pop from an empty stack")]
    [InlineData(new byte[] { 0x80, 2, (byte)'(', (byte)'a', (byte)'.' }, "pop across a MARK (stack empty above the mark)")]
    [InlineData(new byte[] { 0x80, 2, (byte)'t', (byte)'.' }, "no MARK to pop to")]
    [InlineData(new byte[] { 0x80, 2, (byte)'N' }, "data.pkl at byte 3: pickle ends without STOP (truncated)")]
    [InlineData(new byte[] { 0x80, 2, 0x8c, 2, 0xff, 0xfe, (byte)'.' }, "string is not valid UTF-8")]
    public void MalformedOrDisallowedOpcodesAreRefusedWithTheirOffset(byte[] pickle, string fragment)
    {
        var message = Refusal(pickle);
        Assert.StartsWith("test.pkl: data.pkl at byte ", message);
        Assert.Contains(fragment, message);
    }

    [Theory]
    [InlineData("torch\nFloatStorage\n", "global 'torch.FloatStorage' cannot be called in a checkpoint")]
    [InlineData("torch._utils\n_rebuild_tensor_v2\n", "'torch._utils._rebuild_tensor_v2' takes 6 or 7 arguments, got 0")]
    [InlineData("builtins\nexec\n", "global 'builtins.exec' is not allowed in a checkpoint (only state-dict types)")]
    [InlineData("subprocess\nPopen\n", "global 'subprocess.Popen' is not allowed in a checkpoint (only state-dict types)")]
    [InlineData("torch\nload\n", "global 'torch.load' is not allowed in a checkpoint (only state-dict types)")]
    public void OnlyAllowListedGlobalsAreCallable(string global, string fragment)
    {
        var message = Refusal(B(0x80, 2, "c", global, ")R."));
        Assert.Contains(fragment, message);
    }

    [Fact]
    public void NewObjIsOnlyForOrderedDict()
    {
        Assert.IsType<PyDict>(Run(B(0x80, 2, "ccollections\nOrderedDict\n)", 0x81, ".")));
        var message = Refusal(B(0x80, 2, "N)", 0x81, "."));
        Assert.Contains("data.pkl at byte 4: NEWOBJ needs collections.OrderedDict, found None", message);
    }

    [Fact]
    public void AControlCharacterInAGlobalNameStaysOnOneLine()
    {
        var message = Refusal(B(0x80, 2, "cos\u001b[2J\nsystem\n)R."));
        Assert.Contains("global 'os?[2J.system' is not allowed", message);
    }

    [Fact]
    public void ManyValuesInOneListAreRefusedAtTheBudget()
    {
        // BININT1 + APPEND, 3 bytes a value: 6 MiB of pickle would build millions of boxed values
        var p = new byte[3 + 3 * (PickleMachine.MaxValues + 1) + 1];
        p[0] = 0x80;
        p[1] = 2;
        p[2] = (byte)']';
        for (int i = 0; i <= PickleMachine.MaxValues; i++) (p[3 + 3 * i], p[4 + 3 * i], p[5 + 3 * i]) = ((byte)'K', 1, (byte)'a');
        p[^1] = (byte)'.';
        Assert.Contains($"more than {PickleMachine.MaxValues} values in one pickle", Refusal(p), StringComparison.Ordinal);
    }
}
