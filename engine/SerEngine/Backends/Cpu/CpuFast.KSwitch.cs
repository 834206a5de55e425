namespace SerEngine.Backends.Cpu;

// TEMPORARY A/B switch for helper K's microbench; removed before merge.
internal static class KSwitch
{
    public static bool On = true;
}
