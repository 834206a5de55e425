using System.Globalization;
using System.Text.RegularExpressions;

namespace SerEngine.Models.Data;

/// <summary>
/// Reads a data set from a folder (or a CSV manifest file) in one of the <see cref="DatasetFormat"/>
/// layouts; <see cref="DatasetFormat.Auto"/> detects it. Every problem is a
/// <see cref="DatasetException"/> with a one-line message naming the folder or file.
/// </summary>
public static class DatasetReader
{
    /// <summary>Loads <paramref name="path"/> (a folder, or a .csv manifest) as <paramref name="format"/>.</summary>
    public static Dataset Load(string path, DatasetFormat format = DatasetFormat.Auto)
    {
        if (File.Exists(path))
        {
            if (format is DatasetFormat.Auto or DatasetFormat.Csv && path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
                return ManifestReaders.ReadCsv(path);
            throw new DatasetException($"{path} is a file; --data takes a data folder or a .csv manifest");
        }
        if (!Directory.Exists(path)) throw new DatasetException($"data folder '{path}' does not exist");
        if (format == DatasetFormat.Auto) format = Detect(path);
        return format switch
        {
            DatasetFormat.Ravdess => FileNameCorpora.Read(path, FileNameCorpora.Ravdess),
            DatasetFormat.CremaD => FileNameCorpora.Read(path, FileNameCorpora.CremaD),
            DatasetFormat.EmoDb => FileNameCorpora.Read(path, FileNameCorpora.EmoDb),
            DatasetFormat.Iemocap => IemocapReader.Read(path),
            DatasetFormat.Folders => ManifestReaders.ReadFolders(path),
            DatasetFormat.Csv => ManifestReaders.ReadCsv(FindManifest(path) ?? throw new DatasetException($"no .csv manifest at the top of {path}")),
            _ => throw new DatasetException($"format {format} cannot be read from a folder"),
        };
    }

    /// <summary>
    /// Emotion names a label folder may carry (the shared vocabulary and common abbreviations and
    /// variants); a tree whose top-level folders all are such names is read as <c>folders</c>.
    /// </summary>
    public static IReadOnlySet<string> LabelFolderNames { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised", "bored",
        "neu", "cal", "hap", "exc", "excited", "happiness", "joy", "sadness", "ang", "anger", "fea", "fear", "dis", "disgusted",
        "sur", "surprise", "boredom", "fru", "frustrated", "frustration", "contempt", "other",
    };

    // the corpora told apart by file name, with the folder names their own distributions use
    private static readonly (DatasetFormat Format, FileNameCorpora.Corpus Corpus, Regex Folder)[] NamedCorpora =
    [
        (DatasetFormat.Ravdess, FileNameCorpora.Ravdess, new Regex(@"^(Actor_\d+|Audio_(Speech|Song)_Actors_01-24)$", RegexOptions.IgnoreCase)),
        (DatasetFormat.CremaD, FileNameCorpora.CremaD, new Regex("^AudioWAV$", RegexOptions.IgnoreCase)),
        (DatasetFormat.EmoDb, FileNameCorpora.EmoDb, new Regex("^wav$", RegexOptions.IgnoreCase)),
    ];

    /// <summary>
    /// Guesses the layout of <paramref name="dir"/>: IEMOCAP's Session folders; a single .csv
    /// manifest at the top; top-level folders that all are emotion names (<see cref="LabelFolderNames"/>,
    /// so label folders win over file names that happen to look like a corpus's); file names that
    /// all follow RAVDESS, CREMA-D or EmoDB naming (refused as ambiguous when they sit in several
    /// top-level folders not named like the corpus's own); else one folder per label.
    /// </summary>
    public static DatasetFormat Detect(string dir)
    {
        if (IemocapReader.Looks(dir)) return DatasetFormat.Iemocap;
        if (FindManifest(dir) is not null) return DatasetFormat.Csv;
        var files = ListWavFiles(dir);
        if (files.Count == 0) throw new DatasetException($"no WAV files in {dir}");
        var root = Path.GetFullPath(dir);
        var tops = files.Select(f => Path.GetRelativePath(root, Path.GetFullPath(f)).Split(Path.DirectorySeparatorChar)).ToList();
        if (tops.All(p => p.Length >= 2 && LabelFolderNames.Contains(p[0]))) return DatasetFormat.Folders;
        var names = files.Select(f => Path.GetFileNameWithoutExtension(f)).ToList();
        foreach (var (format, corpus, folder) in NamedCorpora)
        {
            if (!names.All(corpus.Pattern.IsMatch)) continue;
            // several top-level folders not named like the corpus's own (Actor_NN, AudioWAV, wav) may be labels as well
            var folders = tops.Select(p => p.Length >= 2 ? p[0] : "").Distinct(StringComparer.Ordinal).ToList();
            if (folders.Count >= 2 && !folders.Contains("") && !folders.Any(folder.IsMatch))
                throw new DatasetException(string.Create(CultureInfo.InvariantCulture,
                    $"cannot tell the layout of {dir}: its file names follow {corpus.Name} naming (e.g. {Path.GetFileName(files[0])}), but its WAVs sit in {folders.Count} top-level folders ({string.Join(", ", folders.Take(4))}{(folders.Count > 4 ? ", ..." : "")}) that may be labels; give --format {Dataset.FormatName(format)} or --format folders"));
            return format;
        }
        bool topLevelWavs = files.Any(f => string.Equals(Path.GetDirectoryName(Path.GetFullPath(f)), Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal));
        if (!topLevelWavs) return DatasetFormat.Folders;
        throw new DatasetException(
            $"cannot tell the layout of {dir} ({files.Count} WAV files, e.g. {Path.GetFileName(files[0])}): not RAVDESS, CREMA-D or EmoDB naming, no label folders, no .csv manifest; give --format");
    }

    /// <summary>Every .wav file under <paramref name="dir"/> (recursive, macOS "._" files left out), sorted by path.</summary>
    public static List<string> ListWavFiles(string dir)
    {
        try
        {
            var files = Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, MatchCasing = MatchCasing.CaseInsensitive, IgnoreInaccessible = false })
                .Where(f => f.EndsWith(".wav", StringComparison.OrdinalIgnoreCase) && !Path.GetFileName(f).StartsWith("._", StringComparison.Ordinal))
                .ToList();
            files.Sort(StringComparer.Ordinal);
            return files;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new DatasetException($"cannot read data folder {dir}: {ex.Message}");
        }
    }

    /// <summary>The id of a file: its path relative to the data folder, with forward slashes.</summary>
    public static string RelativeId(string root, string file) => Path.GetRelativePath(root, file).Replace('\\', '/');

    private static string? FindManifest(string dir)
    {
        var csvs = Directory.GetFiles(dir, "*.csv");
        return csvs.Length == 1 ? csvs[0] : null;
    }
}
