using System.Text;

namespace SerEngine.Backends;

/// <summary>Small text helpers shared by the native bindings of the GPU backends.</summary>
internal static class NativeText
{
    /// <summary>A NUL-terminated byte string as text (stops at the first NUL; surrounding spaces dropped).</summary>
    public static string Utf8(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        if (end >= 0) bytes = bytes[..end];
        return Encoding.UTF8.GetString(bytes).Trim();
    }

    /// <summary>The function name of a call expression: <c>ClNative.clFinish(q)</c> → <c>clFinish</c>.</summary>
    public static string FunctionName(string call)
    {
        int paren = call.IndexOf('(', StringComparison.Ordinal);
        var head = paren < 0 ? call : call[..paren];
        int dot = head.LastIndexOf('.');
        return dot < 0 ? head.Trim() : head[(dot + 1)..].Trim();
    }
}
