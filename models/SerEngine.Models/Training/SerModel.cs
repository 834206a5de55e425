using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Models.Data;
using SerEngine.Nn;

namespace SerEngine.Models.Training;

/// <summary>One training example: an utterance (index into the feature array) and, for segment models, the first frame of its segment.</summary>
/// <param name="Utterance">Index of the utterance's features.</param>
/// <param name="Start">First frame (0 for whole-utterance models).</param>
public readonly record struct Example(int Utterance, int Start);

/// <summary>The model's output for an input was NaN or infinite, so there is no prediction; the message names the input.</summary>
public sealed class NonFiniteOutputException(string message) : Exception(message);

/// <summary>
/// A network together with what training, evaluation and prediction need around it: the label set,
/// the front end, how an utterance becomes examples and batches, and how utterance-level logits are
/// formed. <see cref="FcnModel"/> (AttentionFcn, whole padded utterances) and <see cref="FcaModel"/>
/// (FocusCalibrationNet, 2 s segments) implement it.
/// </summary>
public abstract class SerModel
{
    /// <summary>Sets the shared parts.</summary>
    protected SerModel(IReadOnlyList<string> labels, FeatureSpec features, Generator rng, Backend backend)
    {
        if (labels.Count < 2) throw new ArgumentException($"a classifier needs at least two labels, got {labels.Count}");
        Labels = labels;
        Features = features;
        Rng = rng;
        Backend = backend;
    }

    /// <summary><c>fcn</c> or <c>fca</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>One line: the architecture and its size.</summary>
    public abstract string Description { get; }

    /// <summary>The network.</summary>
    public abstract Module Network { get; }

    /// <summary>Class names in output order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The front end.</summary>
    public FeatureSpec Features { get; }

    /// <summary>The generator the network was initialised from; it keeps drawing dropout seeds.</summary>
    public Generator Rng { get; }

    /// <summary>Training-time augmentation draws from this when set (the trainer sets one per step, so resuming replays it).</summary>
    public Generator? AugmentationRng { get; set; }

    /// <summary>Where the network's tensors live.</summary>
    public Backend Backend { get; }

    /// <summary>Batch size of the training protocol (MODELS.md).</summary>
    public abstract int DefaultBatchSize { get; }

    /// <summary>The settings as JSON (the checkpoint's <c>config</c>).</summary>
    public abstract string ConfigJson();

    /// <summary>Fewest feature frames the network accepts.</summary>
    public abstract int MinimumFrames { get; }

    /// <summary>Throws a one-line error naming <paramref name="name"/> when <paramref name="f"/> is too short for the network.</summary>
    public abstract void CheckInput(FeatureMatrix f, string name);

    /// <summary>The training examples of one utterance.</summary>
    public abstract IEnumerable<Example> TrainingExamples(int utterance, FeatureMatrix f);

    /// <summary>The network input of a batch of examples, x [B, 1, F, T], and each item's valid frames (null: all).</summary>
    public abstract (Tensor X, int[]? Valid) BatchInput(IReadOnlyList<Example> batch, IReadOnlyList<FeatureMatrix> features);

    /// <summary>Logits [B, classes] of a network input made by <see cref="BatchInput"/> (in the network's current mode; records the graph when enabled).</summary>
    public abstract Tensor Forward(Tensor x, int[]? valid);

    /// <summary>
    /// Utterance-level logits (evaluation mode, no graph): one row of <see cref="Labels"/>.Count values per utterance.
    /// <paramref name="progress"/> (done, total) is called after each batch, counting <see cref="PredictionUnit"/>.
    /// </summary>
    public abstract float[][] PredictLogits(IReadOnlyList<FeatureMatrix> utterances, Action<int, int>? progress = null);

    /// <summary>What <see cref="PredictLogits(IReadOnlyList{FeatureMatrix}, Action{int, int})"/>'s progress counts, plural: utterances, or segments for a segment model.</summary>
    public virtual string PredictionUnit => "utterances";

    /// <summary>
    /// <see cref="PredictLogits(IReadOnlyList{FeatureMatrix}, Action{int, int})"/> for predictions and evaluation: a NaN or
    /// infinite output throws <see cref="NonFiniteOutputException"/> naming <paramref name="names"/>[i]
    /// (the audio file), instead of becoming a label or a metric.
    /// </summary>
    public float[][] PredictLogits(IReadOnlyList<FeatureMatrix> utterances, IReadOnlyList<string> names, Action<int, int>? progress = null)
    {
        if (names.Count != utterances.Count) throw new ArgumentException($"{utterances.Count} utterances but {names.Count} names");
        var logits = PredictLogits(utterances, progress);
        for (int i = 0; i < logits.Length; i++)
        {
            int c = Array.FindIndex(logits[i], v => !float.IsFinite(v));
            if (c < 0) continue;
            string what = float.IsNaN(logits[i][c]) ? "NaN" : "infinite";
            throw new NonFiniteOutputException(
                $"{names[i]}: the {Kind} model's output for class '{Labels[c]}' is {what} (its weights overflow on this input); no prediction");
        }
        return logits;
    }

    /// <summary>Softmax of each row of <paramref name="logits"/>, in double.</summary>
    public static float[][] Softmax(float[][] logits) => [.. logits.Select(row =>
    {
        double max = row.Max(), sum = row.Sum(v => Math.Exp(v - max));
        return row.Select(v => (float)(Math.Exp(v - max) / sum)).ToArray();
    })];

    /// <summary>Index of the largest value (the first on ties).</summary>
    public static int ArgMax(float[] row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++)
            if (row[i] > row[best]) best = i;
        return best;
    }

    /// <summary>
    /// Runs <paramref name="body"/> in evaluation mode without recording a graph, then restores the mode.
    /// A network already in evaluation mode is left untouched (no writes), so concurrent calls on it are safe.
    /// </summary>
    protected T Evaluate<T>(Func<T> body)
    {
        bool training = Network.Training;
        if (training) Network.Eval();
        try
        {
            using var noGrad = Autograd.Graph.NoGrad();
            return body();
        }
        finally
        {
            if (training) Network.Train(true);
        }
    }

    /// <summary>Copies the values of a logits tensor into per-row arrays.</summary>
    protected static float[][] Rows(Tensor logits)
    {
        int n = logits.Shape[0], c = logits.Shape[1];
        var v = logits.ToArray();
        var rows = new float[n][];
        for (int i = 0; i < n; i++) rows[i] = v.AsSpan(i * c, c).ToArray();
        return rows;
    }
}
