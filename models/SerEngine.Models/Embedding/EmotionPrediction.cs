using System.Collections.ObjectModel;
using System.Globalization;

namespace SerEngine.Models;

/// <summary>
/// What <see cref="EmotionRecognizer"/> found in one recording: the most probable label and the
/// probability of every class (softmax of the utterance-level logits; they sum to 1).
/// </summary>
public sealed class EmotionPrediction
{
    /// <summary>Wraps the probabilities of <paramref name="labels"/> (same order, same count).</summary>
    /// <exception cref="ArgumentException">The counts differ or there are no labels.</exception>
    public EmotionPrediction(IReadOnlyList<string> labels, IReadOnlyList<float> probabilities)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(probabilities);
        if (labels.Count == 0 || labels.Count != probabilities.Count)
            throw new ArgumentException($"{labels.Count} labels but {probabilities.Count} probabilities");
        Labels = labels;
        Probabilities = new ReadOnlyCollection<float>([.. probabilities]);
        int best = 0;
        for (int i = 1; i < probabilities.Count; i++)
            if (probabilities[i] > probabilities[best]) best = i;
        Index = best;
        var byLabel = new Dictionary<string, float>(labels.Count, StringComparer.Ordinal);
        for (int i = 0; i < labels.Count; i++) byLabel[labels[i]] = probabilities[i];
        ByLabel = new ReadOnlyDictionary<string, float>(byLabel);
    }

    /// <summary>Class names, in the order of <see cref="Probabilities"/>.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Probability of each class, in the order of <see cref="Labels"/>.</summary>
    public IReadOnlyList<float> Probabilities { get; }

    /// <summary>Probability by class name.</summary>
    public IReadOnlyDictionary<string, float> ByLabel { get; }

    /// <summary>Index of the most probable class (the first on ties).</summary>
    public int Index { get; }

    /// <summary>The most probable class.</summary>
    public string Label => Labels[Index];

    /// <summary>Its probability.</summary>
    public float Confidence => Probabilities[Index];

    /// <summary><c>angry (angry 0.710, happy 0.200, ...)</c>: the label, then every class by falling probability.</summary>
    public override string ToString()
    {
        var ranked = Enumerable.Range(0, Labels.Count).OrderByDescending(c => Probabilities[c]).ThenBy(c => c);
        return $"{Label} ({string.Join(", ", ranked.Select(c => string.Create(CultureInfo.InvariantCulture, $"{Labels[c]} {Probabilities[c]:0.000}")))})";
    }
}
