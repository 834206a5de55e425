using System.Text;

namespace SerEngine.Models.Data;

/// <summary>
/// The two generic layouts: one folder per label (<c>DIR/&lt;label&gt;/[&lt;speaker&gt;/]*.wav</c>), and a
/// CSV manifest with a header naming <c>path</c>, <c>label</c> and optionally <c>speaker</c> columns
/// (paths relative to the manifest's folder).
/// </summary>
public static class ManifestReaders
{
    /// <summary>
    /// One folder per label: every WAV under <c>DIR/&lt;label&gt;/</c> has that label; a file in a
    /// sub-folder <c>DIR/&lt;label&gt;/&lt;speaker&gt;/</c> has that speaker, others speaker "unknown".
    /// </summary>
    public static Dataset ReadFolders(string dir)
    {
        var root = Path.GetFullPath(dir);
        var items = new List<Utterance>();
        foreach (var file in DatasetReader.ListWavFiles(dir))
        {
            var parts = Path.GetRelativePath(root, Path.GetFullPath(file)).Split(Path.DirectorySeparatorChar);
            if (parts.Length < 2)
                throw new DatasetException($"{file} is not inside a label folder (folders layout: {dir}/<label>/*.wav)");
            string speaker = parts.Length >= 3 ? parts[1] : "unknown";
            items.Add(new Utterance(DatasetReader.RelativeId(dir, file), parts[0], speaker, speaker, file));
        }
        if (items.Count == 0) throw new DatasetException($"no WAV files in {dir}");
        return new Dataset("label folders", DatasetFormat.Folders, dir, items);
    }

    /// <summary>Reads a CSV manifest (header required; quoted fields allowed).</summary>
    public static Dataset ReadCsv(string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"cannot read manifest {path}: {ex.Message}");
        }
        int first = Array.FindIndex(lines, l => l.Trim().Length > 0);
        if (first < 0) throw new DatasetException($"manifest {path} is empty");
        var header = SplitCsv(lines[first], path, first + 1).Select(h => h.Trim().ToLowerInvariant()).ToList();
        int pathCol = header.IndexOf("path"), labelCol = header.IndexOf("label"), speakerCol = header.IndexOf("speaker");
        if (pathCol < 0 || labelCol < 0)
            throw new DatasetException($"manifest {path}: the header must name 'path' and 'label' columns (and optionally 'speaker'), got '{lines[first]}'");
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var items = new List<Utterance>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = first + 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            var f = SplitCsv(lines[i], path, i + 1);
            int need = Math.Max(pathCol, Math.Max(labelCol, speakerCol)) + 1;
            if (f.Count < need) throw new DatasetException($"manifest {path} line {i + 1}: {f.Count} fields, the header has {header.Count}");
            string rel = f[pathCol].Trim(), label = f[labelCol].Trim();
            string speaker = speakerCol >= 0 ? f[speakerCol].Trim() : "unknown";
            if (rel.Length == 0 || label.Length == 0) throw new DatasetException($"manifest {path} line {i + 1}: empty path or label");
            var file = Path.GetFullPath(Path.Combine(baseDir, rel));
            if (!File.Exists(file)) throw new DatasetException($"manifest {path} line {i + 1}: {rel} does not exist");
            if (!seen.Add(file)) throw new DatasetException($"manifest {path} line {i + 1}: {rel} is listed twice");
            if (speaker.Length == 0) speaker = "unknown";
            items.Add(new Utterance(rel.Replace('\\', '/'), label, speaker, speaker, file));
        }
        if (items.Count == 0) throw new DatasetException($"manifest {path} lists no files");
        return new Dataset("csv manifest", DatasetFormat.Csv, path, items);
    }

    /// <summary>Splits one CSV line (RFC 4180 quotes, "" inside quotes).</summary>
    public static List<string> SplitCsv(string line, string source, int lineNumber)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        if (quoted) throw new DatasetException($"manifest {source} line {lineNumber}: unterminated quote");
        fields.Add(sb.ToString());
        return fields;
    }
}
