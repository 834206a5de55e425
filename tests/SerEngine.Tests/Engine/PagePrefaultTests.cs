using System.Globalization;
using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Engine;

/// <summary>
/// PagePrefault maps a new array's pages in one call: the values never change (small, odd-sized and empty arrays too),
/// and on Linux a populated fresh array takes (almost) no page faults when it is written afterwards.
/// </summary>
public sealed class PagePrefaultTests
{
    public static TheoryData<int> Lengths => [0, 1, 1000, PagePrefault.MinBytes / 4 - 1, PagePrefault.MinBytes / 4, 3 * 65536 + 7, 1 << 21];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void PopulateKeepsEveryValueAndReturnsTheSameArray(int length)
    {
        var floats = new float[length];
        var ints = new int[length];
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) (floats[i], ints[i], bytes[i]) = (i * 0.37f - 5f, i * 7919 - 3, (byte)(i * 31));
        float[] floatsBefore = [.. floats];
        int[] intsBefore = [.. ints];
        byte[] bytesBefore = [.. bytes];
        Assert.Same(floats, PagePrefault.Populate(floats));
        Assert.Same(ints, PagePrefault.Populate(ints));
        Assert.Same(bytes, PagePrefault.Populate(bytes));
        Assert.Equal(floatsBefore, floats);
        Assert.Equal(intsBefore, ints);
        Assert.Equal(bytesBefore, bytes);
    }

    [Fact]
    public void AnUninitializedArrayIsWrittenAndReadBackAfterPopulate()
    {
        var a = PagePrefault.Populate(GC.AllocateUninitializedArray<float>(5 * 65536 + 3));
        for (int i = 0; i < a.Length; i++) a[i] = i;
        for (int i = 0; i < a.Length; i++) Assert.Equal(i, a[i]);
    }

    [Fact]
    public void OnLinuxAPopulatedFreshArrayTakesNoPageFaultsWhenWritten()
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.True(PagePrefault.Enabled || Environment.GetEnvironmentVariable(PagePrefault.EnvironmentVariable) == "0");
        if (!PagePrefault.Enabled) return;
        const int Length = 8 << 20;                                             // 32 MiB: 8192 pages of 4 KiB
        var a = PagePrefault.Populate(GC.AllocateUninitializedArray<float>(Length));
        long before = ThreadMinorFaults();
        for (int i = 0; i < Length; i += 1024) a[i] = 1f;                       // one write per 4 KiB page
        long faults = ThreadMinorFaults() - before;
        Assert.True(faults < 256, $"{faults} minor page faults writing 8192 populated pages");
    }

    // this thread's minor page faults (field 10 of /proc/thread-self/stat, counted after the command name's closing parenthesis)
    private static long ThreadMinorFaults()
    {
        string stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], CultureInfo.InvariantCulture);
    }
}
