using System.Globalization;
using System.Text.RegularExpressions;

namespace SerEngine.Models.Training;

/// <summary>
/// What <c>ser train</c> writes in its output folder, and the housekeeping around it: whether a folder
/// already holds a run, removing the temp files an interrupted write leaves behind, and clearing our
/// own outputs for <c>--force</c>. Only names this program writes are ever touched.
/// </summary>
public static partial class OutputFolder
{
    /// <summary>The run summary at the top of the output folder.</summary>
    public const string MetricsFile = "metrics.json";

    /// <summary>The HTML report at the top of the output folder.</summary>
    public const string ReportFile = "report.html";

    // SafeTensors.Write: PATH.tmp-GUID ("N" format); JsonUtil/ReportFiles: PATH.tmpPID
    [GeneratedRegex(@"^(.+\.safetensors\.tmp-[0-9a-f]{32}|(metrics\.json|report\.html)\.tmp(?<pid>[0-9]{1,10}))$", RegexOptions.CultureInvariant)]
    private static partial Regex TempName();

    [GeneratedRegex(@"^fold[0-9]{1,4}$", RegexOptions.CultureInvariant)]
    private static partial Regex FoldName();

    /// <summary>The <c>foldN</c> folders of <paramref name="dir"/> (none when it does not exist).</summary>
    public static IReadOnlyList<string> FoldFolders(string dir) =>
        Directory.Exists(dir)
            ? [.. Directory.EnumerateDirectories(dir).Where(d => FoldName().IsMatch(Path.GetFileName(d))).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>
    /// What in <paramref name="dir"/> shows an earlier run (<c>metrics.json</c>, <c>foldN/</c> with a
    /// checkpoint or metrics), as short relative names; empty when there is none.
    /// </summary>
    public static IReadOnlyList<string> EarlierRun(string dir)
    {
        var found = new List<string>();
        if (!Directory.Exists(dir)) return found;
        if (File.Exists(Path.Combine(dir, MetricsFile))) found.Add(MetricsFile);
        foreach (var fold in FoldFolders(dir))
            if (new[] { FoldTrainer.LastFile, FoldTrainer.BestFile, MetricsFile }.Any(f => File.Exists(Path.Combine(fold, f))))
                found.Add(Path.GetFileName(fold) + "/");
        return found;
    }

    /// <summary>
    /// Deletes the temp files of interrupted atomic writes (<c>*.safetensors.tmp-&lt;32 hex&gt;</c>,
    /// <c>metrics.json.tmp&lt;pid&gt;</c>, <c>report.html.tmp&lt;pid&gt;</c>) in <paramref name="dir"/> and its
    /// <c>foldN</c> folders; returns their paths relative to <paramref name="dir"/>.
    /// </summary>
    public static IReadOnlyList<string> RemoveStaleTemps(string dir)
    {
        var removed = new List<string>();
        if (!Directory.Exists(dir)) return removed;
        foreach (var folder in FoldFolders(dir).Prepend(dir))
            foreach (var file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
            {
                var m = TempName().Match(Path.GetFileName(file));
                if (!m.Success) continue;
                // a temp of this very process is a write in progress, not a leftover
                if (m.Groups["pid"].Success && m.Groups["pid"].Value == Environment.ProcessId.ToString(CultureInfo.InvariantCulture)) continue;
                File.Delete(file);
                removed.Add(Path.GetRelativePath(dir, file).Replace('\\', '/'));
            }
        return removed;
    }

    /// <summary>
    /// Deletes what a run wrote in <paramref name="dir"/> (<c>metrics.json</c>, <c>report.html</c>, each
    /// <c>foldN/</c>'s checkpoints and metrics, stale temps; a fold folder left empty goes too) and
    /// nothing else; the on-disk feature cache stays (it is keyed by file and settings).
    /// </summary>
    public static void ClearRun(string dir)
    {
        if (!Directory.Exists(dir)) return;
        RemoveStaleTemps(dir);
        foreach (var f in new[] { MetricsFile, ReportFile }) File.Delete(Path.Combine(dir, f));
        foreach (var fold in FoldFolders(dir))
        {
            foreach (var f in new[] { FoldTrainer.LastFile, FoldTrainer.BestFile, MetricsFile }) File.Delete(Path.Combine(fold, f));
            if (!Directory.EnumerateFileSystemEntries(fold).Any()) Directory.Delete(fold);
        }
    }
}
