namespace SerEngine.Models;

/// <summary>The speech-emotion models live in this assembly.</summary>
internal static class AssemblyInfo
{
}
