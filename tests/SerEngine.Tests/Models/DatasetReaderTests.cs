using SerEngine.Audio;
using SerEngine.Models.Data;

namespace SerEngine.Tests.Models;

/// <summary>Each reader on a small tree laid out as the real corpus lays it out (synthetic audio).</summary>
public sealed class DatasetReaderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ser-readers").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Dir(string name)
    {
        var d = Path.Combine(_root, name);
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>Writes a short tone at <paramref name="path"/> (folders created).</summary>
    internal static void Wav(string path, double seconds = 0.1, int rate = 16000)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var s = new float[(int)(seconds * rate)];
        for (int i = 0; i < s.Length; i++) s[i] = 0.3f * MathF.Sin(2 * MathF.PI * 220 * i / rate);
        WavWriter.Write(path, s, rate);
    }

    [Fact]
    public void RavdessNamesGiveEmotionFromTheThirdFieldAndActorFromTheSeventh()
    {
        var dir = Dir("ravdess");
        Wav(Path.Combine(dir, "Actor_01", "03-01-01-01-01-01-01.wav"));
        Wav(Path.Combine(dir, "Actor_01", "03-01-05-01-02-01-01.wav"));
        Wav(Path.Combine(dir, "Actor_12", "03-01-05-01-02-01-12.wav"));
        Wav(Path.Combine(dir, "Actor_12", "03-01-08-02-01-02-12.wav"));
        Wav(Path.Combine(dir, "Actor_12", "03-01-02-01-01-01-12.wav"));

        Assert.Equal(DatasetFormat.Ravdess, DatasetReader.Detect(dir));
        var data = DatasetReader.Load(dir);
        Assert.Equal("RAVDESS", data.Name);
        Assert.Equal(["neutral", "calm", "angry", "surprised"], data.Labels); // RAVDESS code order, present ones
        Assert.Equal(["01", "12"], data.Speakers);
        var u = data.Utterances.Single(x => x.Id == "Actor_12/03-01-05-01-02-01-12.wav");
        Assert.Equal("angry", u.Label);
        Assert.Equal("12", u.Speaker);
        Assert.Equal(u.Speaker, u.Group);
        Assert.Equal([1, 1, 2, 1], data.ClassCounts());
        Assert.Contains("5 utterances, 4 classes (neutral 1, calm 1, angry 2, surprised 1), 2 speakers (01, 12)", data.Describe());
    }

    [Fact]
    public void CremaDNamesGiveSpeakerAndEmotion()
    {
        var dir = Dir("crema");
        foreach (var n in new[] { "1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1002_DFA_SAD_XX", "1091_TSI_NEU_XX", "1091_WSI_DIS_LO", "1002_ITS_FEA_MD" })
            Wav(Path.Combine(dir, "AudioWAV", n + ".wav"));
        Assert.Equal(DatasetFormat.CremaD, DatasetReader.Detect(dir));
        var data = DatasetReader.Load(dir, DatasetFormat.CremaD);
        Assert.Equal(["angry", "disgust", "fearful", "happy", "neutral", "sad"], data.Labels);
        Assert.Equal(["1001", "1002", "1091"], data.Speakers);
        Assert.Equal("sad", data.Utterances.Single(x => x.Id.EndsWith("1002_DFA_SAD_XX.wav", StringComparison.Ordinal)).Label);
    }

    [Fact]
    public void EmoDbNamesGiveSpeakerAndTheEmotionLetterAtIndexFive()
    {
        var dir = Dir("emodb");
        foreach (var n in new[] { "03a01Fa", "03a01Wa", "08b02Tb", "16a05Lc", "10b09Nd", "11a02Ea", "12b01Ab" })
            Wav(Path.Combine(dir, "wav", n + ".wav"));
        var data = DatasetReader.Load(dir);
        Assert.Equal(DatasetFormat.EmoDb, data.Format);
        Assert.Equal(["angry", "bored", "disgust", "fearful", "happy", "sad", "neutral"], data.Labels);
        var byName = data.Utterances.ToDictionary(u => Path.GetFileNameWithoutExtension(u.Id), u => (u.Label, u.Speaker));
        Assert.Equal(("happy", "03"), byName["03a01Fa"]);
        Assert.Equal(("angry", "03"), byName["03a01Wa"]);
        Assert.Equal(("sad", "08"), byName["08b02Tb"]);
        Assert.Equal(("bored", "16"), byName["16a05Lc"]);
        Assert.Equal(("neutral", "10"), byName["10b09Nd"]);
        Assert.Equal(("disgust", "11"), byName["11a02Ea"]);
        Assert.Equal(("fearful", "12"), byName["12b01Ab"]);
    }

    [Fact]
    public void IemocapUsesTheEvaluationFilesWithTheFourClassConventionAndSessionFolds()
    {
        var dir = Dir("iemocap");
        void Session(int s, string dialog, params (string Turn, string Code)[] turns)
        {
            var eval = Path.Combine(dir, $"Session{s}", "dialog", "EmoEvaluation");
            Directory.CreateDirectory(Path.Combine(eval, "Categorical")); // present in the release, not read
            var lines = new List<string> { "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", "" };
            double t = 1.5;
            foreach (var (turn, code) in turns)
            {
                string utt = $"{dialog}_{turn}";
                lines.Add($"[{t:0.0000} - {t + 2:0.0000}]\t{utt}\t{code}\t[2.5000, 2.5000, 2.5000]");
                lines.Add("C-E2:\tNeutral;\t()");
                lines.Add("A-E3:\tval 3; act 2; dom  2;\t()");
                lines.Add("");
                Wav(Path.Combine(dir, $"Session{s}", "sentences", "wav", dialog, utt + ".wav"));
                t += 3;
            }
            File.WriteAllLines(Path.Combine(eval, dialog + ".txt"), lines);
            File.WriteAllText(Path.Combine(eval, "Categorical", dialog + "_e1_cat.txt"), "Ses01F_impro01_F000 :Neutral state; ()\n");
        }
        Session(1, "Ses01F_impro01", ("F000", "neu"), ("M000", "exc"), ("F001", "fru"), ("M001", "ang"));
        Session(2, "Ses02M_script01_1", ("F000", "hap"), ("M000", "sad"), ("M001", "xxx"));
        // a labelled turn whose WAV is missing is skipped and reported
        File.AppendAllText(Path.Combine(dir, "Session2", "dialog", "EmoEvaluation", "Ses02M_script01_1.txt"),
            "[9.0000 - 10.0000]\tSes02M_script01_1_F009\tsad\t[2.0000, 2.0000, 2.0000]\n");

        Assert.Equal(DatasetFormat.Iemocap, DatasetReader.Detect(dir));
        var data = DatasetReader.Load(dir);
        Assert.Equal(["neutral", "happy", "sad", "angry"], data.Labels);
        Assert.Equal(5, data.Utterances.Count);
        var byId = data.Utterances.ToDictionary(u => Path.GetFileNameWithoutExtension(u.Id));
        Assert.Equal("happy", byId["Ses01F_impro01_M000"].Label); // exc merged into happy
        Assert.Equal("happy", byId["Ses02M_script01_1_F000"].Label);
        Assert.Equal("Ses01M", byId["Ses01F_impro01_M000"].Speaker);
        Assert.Equal("Session1", byId["Ses01F_impro01_M000"].Group);
        Assert.Equal("Session2", byId["Ses02M_script01_1_M000"].Group);
        Assert.Equal(["Ses01F", "Ses01M", "Ses02F", "Ses02M"], data.Speakers);
        Assert.Equal(["Session1", "Session2"], data.Groups);
        Assert.Equal("2 utterances outside the 4 classes (fru 1, xxx 1); 1 labelled utterances whose WAV file is missing", data.Skipped);
        Assert.Contains("2 fold groups (Session1, Session2)", data.Describe());
    }

    [Fact]
    public void FoldersGiveTheLabelAndAnOptionalSpeakerSubfolder()
    {
        var dir = Dir("folders");
        Wav(Path.Combine(dir, "angry", "anna", "a1.wav"));
        Wav(Path.Combine(dir, "angry", "bert", "a2.wav"));
        Wav(Path.Combine(dir, "calm", "c1.wav"));
        Assert.Equal(DatasetFormat.Folders, DatasetReader.Detect(dir));
        var data = DatasetReader.Load(dir);
        Assert.Equal(["angry", "calm"], data.Labels);
        Assert.Equal(["anna", "bert", "unknown"], data.Speakers);
        Assert.Equal("angry/bert/a2.wav", data.Utterances[1].Id);
    }

    [Fact]
    public void LabelsATerminalWouldActOnAreRefusedNamingTheUtterance()
    {
        var dir = Dir("escape-labels");
        Wav(Path.Combine(dir, "calm", "c1.wav"));
        Wav(Path.Combine(dir, "ang\u001b]0;pwned\u0007ry", "a1.wav"));
        var ex = Assert.Throws<DatasetException>(() => DatasetReader.Load(dir, DatasetFormat.Folders));
        Assert.Equal($"{dir}: the label \"ang\\u001B]0;pwned\\u0007ry\" of \"ang\\u001B]0;pwned\\u0007ry/a1.wav\" contains control character U+001B; labels must be printable text", ex.Message);

        var csv = Dir("bidi-labels");
        Wav(Path.Combine(csv, "a.wav"));
        Wav(Path.Combine(csv, "b.wav"));
        File.WriteAllLines(Path.Combine(csv, "m.csv"), ["path,label", "a.wav,happy", "b.wav,s\u202Ead"]);
        Assert.Contains("contains bidirectional control character U+202E; labels must be printable text", Assert.Throws<DatasetException>(() => DatasetReader.Load(csv)).Message);
    }

    [Fact]
    public void CsvManifestNamesPathLabelAndSpeakerColumnsInAnyOrder()
    {
        var dir = Dir("csv");
        Wav(Path.Combine(dir, "audio", "x 1.wav"));
        Wav(Path.Combine(dir, "audio", "y.wav"));
        Wav(Path.Combine(dir, "audio", "z.wav"));
        var manifest = Path.Combine(dir, "manifest.csv");
        File.WriteAllLines(manifest, ["speaker,Path,label", "s1,\"audio/x 1.wav\",happy", "s2,audio/y.wav,sad", "", "s2,audio/z.wav,\"happy\""]);

        Assert.Equal(DatasetFormat.Csv, DatasetReader.Detect(dir));
        foreach (var data in new[] { DatasetReader.Load(dir), DatasetReader.Load(manifest) })
        {
            Assert.Equal(DatasetFormat.Csv, data.Format);
            Assert.Equal(["happy", "sad"], data.Labels);
            Assert.Equal(["s1", "s2"], data.Speakers);
            Assert.Equal("audio/x 1.wav", data.Utterances[0].Id);
            Assert.True(File.Exists(data.Utterances[0].Path));
        }
    }

    [Fact]
    public void BadInputGivesOneLineErrors()
    {
        var empty = Dir("empty");
        Assert.Equal($"no WAV files in {empty}", Assert.Throws<DatasetException>(() => DatasetReader.Load(empty)).Message);
        var missing = Path.Combine(_root, "nope");
        Assert.Equal($"data folder '{missing}' does not exist", Assert.Throws<DatasetException>(() => DatasetReader.Load(missing)).Message);

        var oneClass = Dir("one");
        Wav(Path.Combine(oneClass, "sad", "a.wav"));
        Wav(Path.Combine(oneClass, "sad", "b.wav"));
        var e = Assert.Throws<DatasetException>(() => DatasetReader.Load(oneClass).RequireTrainable());
        Assert.Contains("only one class (sad, 2 utterances)", e.Message);

        var badCode = Dir("ravdess-bad");
        Wav(Path.Combine(badCode, "03-01-09-01-01-01-01.wav"));
        Assert.Contains("emotion code 09 is not a RAVDESS emotion", Assert.Throws<DatasetException>(() => DatasetReader.Load(badCode)).Message);

        var badCrema = Dir("crema-bad");
        Wav(Path.Combine(badCrema, "1001_DFA_BOR_XX.wav"));
        Assert.Contains("BOR is not a CREMA-D emotion", Assert.Throws<DatasetException>(() => DatasetReader.Load(badCrema, DatasetFormat.CremaD)).Message);

        var stray = Dir("ravdess-stray");
        Wav(Path.Combine(stray, "03-01-01-01-01-01-01.wav"));
        Wav(Path.Combine(stray, "other.wav"));
        Assert.Contains("cannot tell the layout", Assert.Throws<DatasetException>(() => DatasetReader.Load(stray)).Message);
        Assert.Contains("does not follow RAVDESS naming", Assert.Throws<DatasetException>(() => DatasetReader.Load(stray, DatasetFormat.Ravdess)).Message);

        var csvDir = Dir("csv-bad");
        File.WriteAllLines(Path.Combine(csvDir, "m.csv"), ["file,emotion", "a.wav,sad"]);
        Assert.Contains("must name 'path' and 'label' columns", Assert.Throws<DatasetException>(() => DatasetReader.Load(csvDir)).Message);
        File.WriteAllLines(Path.Combine(csvDir, "m.csv"), ["path,label", "gone.wav,sad"]);
        Assert.Contains("line 2: gone.wav does not exist", Assert.Throws<DatasetException>(() => DatasetReader.Load(csvDir)).Message);

        Assert.Contains("unknown data format 'timit'", Assert.Throws<ArgumentException>(() => Dataset.ParseFormat("timit")).Message);
    }
}
