using System.Xml.Linq;
using SerEngine.Tests.Cli;

namespace SerEngine.Tests.Reports;

/// <summary><c>ser explain</c>: SVG and PNG figures from a tiny checkpoint, one-line errors for bad input.</summary>
[Collection(ReportRunsCollection.Name)]
public sealed class ExplainCommandTests(ReportRuns runs)
{
    private string Wav => Path.Combine(runs.CorpusDir, "happy", "spk1", "001.wav");

    private string Checkpoint(string model) => Path.Combine(model == "fca" ? runs.FcaDir : runs.FcnDir, "fold2", "best.safetensors");

    private static string[] Lines(string text) => text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    [Theory]
    [InlineData("fca")]
    [InlineData("fcn")]
    public void ExplainWritesAnSvgAndAPngFigure(string model)
    {
        var dir = Directory.CreateTempSubdirectory("ser-explain").FullName;
        try
        {
            var svgPath = Path.Combine(dir, "a.svg");
            var r = TrainCommandTests.Run("explain", "--checkpoint", Checkpoint(model), Wav, "--out", svgPath);
            Assert.True(r.Code == 0, r.Err);
            Assert.Equal("", r.Err);
            Assert.Matches($@"^{System.Text.RegularExpressions.Regex.Escape(Wav)}: (neutral|happy) -> ", Lines(r.Out).Single());
            var svg = File.ReadAllText(svgPath);
            ReportTests.AssertSelfContained(svg.Replace("xmlns=\"http://www.w3.org/2000/svg\"", "", StringComparison.Ordinal));
            var root = XDocument.Parse(svg).Root!;
            Assert.Equal("svg", root.Name.LocalName);
            Assert.Contains(root.Elements(root.Name.Namespace + "text"), t => t.Value == Wav);

            var pngPath = Path.Combine(dir, "a.png");
            r = TrainCommandTests.Run("explain", "--checkpoint", Checkpoint(model), Wav, "--out", pngPath, "--scale", "1");
            Assert.True(r.Code == 0, r.Err);
            var image = PngReader.Decode(File.ReadAllBytes(pngPath));
            Assert.Equal(960, image.Width);
            Assert.True(image.Height > 400, $"{image.Height} rows");
            Assert.Equal(["a.png", "a.svg"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BadInputGivesOneLineAndWritesNothing()
    {
        var dir = Directory.CreateTempSubdirectory("ser-explain-bad").FullName;
        try
        {
            var notWav = Path.Combine(dir, "notes.wav");
            File.WriteAllText(notWav, "this is not audio");
            var outPng = Path.Combine(dir, "out.png");
            var ckpt = Checkpoint("fcn");
            var cases = new (int Code, string Fragment, string[] Args)[]
            {
                (1, "does not exist", ["explain", "--checkpoint", ckpt, Path.Combine(dir, "missing.wav"), "--out", outPng]),
                (1, "not a WAV file", ["explain", "--checkpoint", ckpt, notWav, "--out", outPng]),
                (2, "unknown figure type '.jpg'", ["explain", "--checkpoint", ckpt, Wav, "--out", Path.Combine(dir, "out.jpg")]),
                (1, "checkpoint '", ["explain", "--checkpoint", Path.Combine(dir, "none.safetensors"), Wav, "--out", outPng]),
                (1, $"checkpoint {notWav}: ", ["explain", "--checkpoint", notWav, Wav, "--out", outPng]),
                (1, "does not exist", ["explain", "--checkpoint", ckpt, Wav, "--out", Path.Combine(dir, "no", "such", "out.png")]),
                (2, "explain needs --out", ["explain", "--checkpoint", ckpt, Wav]),
                (2, "explain takes exactly one WAV file, got 2", ["explain", "--checkpoint", ckpt, Wav, Wav, "--out", outPng]),
                (2, "option '--scale' needs a number", ["explain", "--checkpoint", ckpt, Wav, "--out", outPng, "--scale", "9"]),
            };
            foreach (var (code, fragment, args) in cases)
            {
                var r = TrainCommandTests.Run(args);
                Assert.True(code == r.Code, $"{string.Join(' ', args)}: rc {r.Code}, {r.Err}");
                var line = Assert.Single(Lines(r.Err));
                Assert.StartsWith("ser: ", line, StringComparison.Ordinal);
                Assert.Contains(fragment, line, StringComparison.Ordinal);
                Assert.DoesNotMatch(@"\bat \w+(\.\w+)+\(", line); // no stack frame
                Assert.Equal("", r.Out);
            }
            Assert.Equal(["notes.wav"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
