using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Models;
using SerEngine.Models.Data;
using SerEngine.Models.Reports;
using SerEngine.Models.Training;

namespace SerEngine.Tests.Reports;

/// <summary>The attention arrays the explainer returns: shapes, softmax sums, ranges, and no side effects.</summary>
public sealed class ExplainerTests
{
    private static readonly string[] Labels = ["neutral", "happy", "sad"];

    private static FeatureMatrix Random(int bins, int frames, ulong seed)
    {
        var g = new Generator(seed);
        var t = Tensor.RandomNormal(new Shape(bins, frames), g, 0f, 1f);
        return new FeatureMatrix(t.ToArray(), bins, frames);
    }

    private static FcnModel TinyFcn() => new(new AttentionFcnConfig(3, Widths: [4, 4, 4, 4, 4]), Labels,
        new FeatureSpec(FeatureSettings.PaperA), new Generator(3), BackendRegistry.Get("cpu"));

    private static FcaModel TinyFca() => new(new FocusCalibrationNetConfig(3, Heads: 2, HeadDim: 8), new SegmentSettings(), Labels,
        new FeatureSpec(FeatureSettings.PaperB), new Generator(4), BackendRegistry.Get("cpu"));

    [Fact]
    public void FcnAttentionCoversTheLastFeatureMapAndSumsToOne()
    {
        var model = TinyFcn();
        var f = Random(80, 150, 1);
        var e = Explainer.Explain(model, f, "x.wav", "sad");
        var a = e.Fcn!;
        Assert.Null(e.Fca);
        Assert.Equal(AttentionFcn.EncodedLength(80), a.Bins);
        Assert.Equal(AttentionFcn.EncodedLength(150), a.Frames);
        Assert.True(a.Bins >= 1 && a.Frames >= 2, $"{a.Bins}×{a.Frames}");
        Assert.Equal(a.Bins * a.Frames, a.Weights.Length);
        Assert.All(a.Weights, w => Assert.True(w > 0 && w < 1));
        Assert.Equal(1.0, a.Weights.Sum(w => (double)w), 5);
        // the probabilities are predict's: softmax of the utterance logits
        var expected = SerModel.Softmax(model.PredictLogits([f]))[0];
        Assert.Equal(expected, e.Probabilities);
        Assert.Equal(1.0, e.Probabilities.Sum(p => (double)p), 5);
        Assert.Equal(Labels[SerModel.ArgMax(expected)], e.Predicted);
        Assert.Equal(0.01, e.FrameSeconds, 9); // hop 160 at 16 kHz
        Assert.False(e.ScaleRows);
    }

    [Fact]
    public void FcaInternalsHaveTheirShapesAndRangesAndAttentionRowsSumToOne()
    {
        var model = TinyFca();
        var f = Random(26, 150, 2); // segments start at 0, 63 and 87 (the last ends at the end)
        var e = Explainer.Explain(model, f, "y.wav");
        var a = e.Fca!;
        Assert.Null(e.Fcn);
        Assert.True(e.ScaleRows);
        Assert.Equal([0, 63, 87], a.SegmentStarts);
        Assert.Equal(2, a.Heads);
        Assert.Equal(63, a.SegmentFrames);
        Assert.Equal(15, a.Tokens); // 63 → 62 → 31 → 15
        int s = 3, h = 2, t = 15;
        Assert.Equal(s * h * t * t, a.Attention.Length);
        for (int row = 0; row < s * h * t; row++)
        {
            double sum = 0;
            for (int j = 0; j < t; j++) sum += a.Attention[row * t + j];
            Assert.Equal(1.0, sum, 5);
        }
        Assert.Equal(s * h * t, a.Centres!.Length);
        Assert.Equal(s * h * t, a.Widths!.Length);
        Assert.All(a.Centres, p => Assert.InRange(p, 0f, t));
        Assert.All(a.Widths, w => Assert.InRange(w, 1e-6f, t));
        Assert.Equal(s * h, a.HeadWeights!.Length);
        Assert.All(a.HeadWeights, g => Assert.InRange(g, 0f, 1f));
        Assert.Equal(87 + 7.5 * 63 / 15.0, a.Frame(2, 7.5), 9);
        Assert.Equal(512 / 16000.0, e.FrameSeconds, 9);
    }

    [Fact]
    public void ExplainingLeavesTheModeAndTheOutputsAsTheyWere()
    {
        var model = TinyFca();
        var f = Random(26, 70, 5);
        model.Network.Train();
        var before = model.PredictLogits([f])[0];
        var first = Explainer.Explain(model, f, "z");
        Assert.True(model.Network.Training);
        var second = Explainer.Explain(model, f, "z");
        Assert.Equal(before, model.PredictLogits([f])[0]);
        Assert.Equal(first.Fca!.Attention, second.Fca!.Attention); // eval mode: no dropout, deterministic

        var plain = new FcaModel(new FocusCalibrationNetConfig(3, Heads: 2, HeadDim: 8, Focus: false, Calibration: false), new SegmentSettings(), Labels,
            new FeatureSpec(FeatureSettings.PaperB), new Generator(4), BackendRegistry.Get("cpu"));
        var p = Explainer.Explain(plain, f, "z").Fca!;
        Assert.Null(p.Centres);
        Assert.Null(p.Widths);
        Assert.Null(p.HeadWeights);
        Assert.Equal(2 * 2 * 15 * 15, p.Attention.Length); // 70 frames: segments at 0 and 7
    }

    [Fact]
    public void FiguresOfBothModelsAreWellFormedSvgAndDecodablePng()
    {
        foreach (var e in new[] { Explainer.Explain(TinyFcn(), Random(80, 150, 1), "a<b>.wav", "sad"), Explainer.Explain(TinyFca(), Random(26, 150, 2), "c.wav") })
        {
            var svg = UtteranceFigure.ToSvg(e);
            var root = System.Xml.Linq.XDocument.Parse(svg.ToDocument()).Root!;
            var ns = root.Name.Namespace;
            Assert.Equal(UtteranceFigure.FigureWidth, svg.Width);
            Assert.Equal(UtteranceFigure.Height(e), svg.Height);
            var images = root.Elements(ns + "image").ToList();
            Assert.All(images, i => Assert.StartsWith("data:image/png;base64,", i.Attribute("href")!.Value, StringComparison.Ordinal));
            var spectrogram = PngReader.Decode(Convert.FromBase64String(images[0].Attribute("href")!.Value["data:image/png;base64,".Length..]));
            Assert.Equal((e.Features.Frames, e.Features.Bins), (spectrogram.Width, spectrogram.Height));
            var texts = root.Elements(ns + "text").Select(t => t.Value).ToList();
            Assert.Contains(e.Name, texts);
            foreach (var l in Labels) Assert.Contains(l, texts);
            if (e.Fcn is not null) Assert.Contains(texts, t => t.StartsWith("attention weights α over the last feature map", StringComparison.Ordinal));
            else
            {
                Assert.Contains(texts, t => t.StartsWith("focus centre P per head", StringComparison.Ordinal));
                Assert.Contains("calibration weight g per head and 2 s segment", texts);
                Assert.Equal(2 * 3, root.Elements(ns + "polygon").Count()); // one focus band per head and segment
            }
            var png = UtteranceFigure.ToImage(e, 1);
            Assert.Equal((int)UtteranceFigure.FigureWidth, png.Width);
            Assert.Equal(png.Pixels, PngReader.Decode(PngEncoder.Encode(png)).Pixels);
        }
    }
}
