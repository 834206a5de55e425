using SerEngine.Audio;
using SerEngine.Models.Data;

namespace SerEngine.Models.Training;

/// <summary>How <c>ser train</c> splits the data into folds.</summary>
public enum SplitKind
{
    /// <summary>Speaker-independent folds (by fold group: the speaker, or IEMOCAP's session).</summary>
    Speaker,
    /// <summary>Folds of randomly shuffled utterances.</summary>
    Random,
    /// <summary>One split: the utterances in a given test list are the test set.</summary>
    List,
}

/// <summary>
/// Everything a training run takes. Null members mean "the protocol default of the model"
/// (MODELS.md, "Training protocol defaults").
/// </summary>
public sealed record TrainOptions
{
    /// <summary><c>fcn</c> (AttentionFcn) or <c>fca</c> (FocusCalibrationNet).</summary>
    public string Model { get; init; } = "fcn";

    /// <summary>Epochs to train per fold (null: fca 50, fcn the recipe's).</summary>
    public int? Epochs { get; init; }

    /// <summary>The one seed every random choice derives from.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Folds.</summary>
    public SplitKind Split { get; init; } = SplitKind.Speaker;

    /// <summary>K.</summary>
    public int Folds { get; init; } = 5;

    /// <summary>Run only this fold (1-based); null runs every fold and reports the mean.</summary>
    public int? Fold { get; init; }

    /// <summary>Test list file (<see cref="SplitKind.List"/>).</summary>
    public string? TestList { get; init; }

    /// <summary>Share of the training utterances held out (stratified by class) for validation and early stopping; 0 keeps the last epoch (null: fca 0.1, fcn the recipe's).</summary>
    public double? ValidationFraction { get; init; }

    /// <summary>Stop after this many epochs without a better validation UA, 0 = never stop early (null: fca 10, fcn the recipe's).</summary>
    public int? Patience { get; init; }

    /// <summary>Batch size (fcn 16 utterances, fca 32 segments).</summary>
    public int? BatchSize { get; init; }

    /// <summary>Learning rate (fcn 1e-3 from scratch or 1e-4 with pretrained weights; fca 1e-3).</summary>
    public float? LearningRate { get; init; }

    /// <summary>Weight decay (fcn 0, fca 1e-6).</summary>
    public float? WeightDecay { get; init; }

    /// <summary>AdamW (decoupled decay) instead of Adam.</summary>
    public bool AdamW { get; init; }

    /// <summary>Divide the learning rate by 10 every this many epochs, 0 = never (null: fca 10, fcn the recipe's).</summary>
    public int? LrStepEpochs { get; init; }

    /// <summary>Draw each training example by first picking a class uniformly.</summary>
    public bool Balanced { get; init; }

    /// <summary>Backend name.</summary>
    public string Backend { get; init; } = "cpu";

    /// <summary>fcn: the five widths (AlexNet's 64, 192, 384, 256, 256 when null).</summary>
    public int[]? Widths { get; init; }

    /// <summary>fcn: <c>logspec</c> (Paper A) or <c>logmel</c>.</summary>
    public string FcnFeatures { get; init; } = "logspec";

    /// <summary>fcn: the recipe whose settings fill the fcn options left null.</summary>
    public FcnRecipe Recipe { get; init; } = FcnRecipe.Paper;

    /// <summary>fcn: per-utterance normalisation of the features (null: the recipe's).</summary>
    public FeatureNormalization? FcnNormalization { get; init; }

    /// <summary>Dropout (fcn: the recipe's, fca 0.1).</summary>
    public float? Dropout { get; init; }

    /// <summary>fcn: attention λ (null: the recipe's).</summary>
    public float? Lambda { get; init; }

    /// <summary>fcn: batch norm after each convolution (null: the recipe's).</summary>
    public bool? BatchNorm { get; init; }

    /// <summary>fcn: SpecAugment masking of the training inputs (null: the recipe's).</summary>
    public bool? SpecAugment { get; init; }

    /// <summary>fcn: largest random frequency warp of the training inputs in semitones, 0 = none (null: the recipe's).</summary>
    public float? FrequencyWarp { get; init; }

    /// <summary>fcn log spectrogram: rows kept from 0 Hz up (null: the recipe's).</summary>
    public int? FcnBins { get; init; }

    /// <summary>Epochs of linear learning-rate warm-up, per step (null: the recipe's for fcn, 0 for fca).</summary>
    public int? WarmupEpochs { get; init; }

    /// <summary>Largest global gradient L2 norm; 0 = no clipping (null: the recipe's for fcn, 0 for fca).</summary>
    public float? ClipNorm { get; init; }

    /// <summary>A safetensors file holding every weight of the model (its own names) to start from instead of random initialisation.</summary>
    public string? InitWeights { get; init; }

    /// <summary>Write the first training step (input, weights, logits, loss, gradients, weights after the step) to this safetensors file, for parity checks.</summary>
    public string? DumpStep { get; init; }

    /// <summary>fca: heads.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>fca: head size.</summary>
    public int HeadDim { get; init; } = 64;

    /// <summary>fca: Focus-Attention on.</summary>
    public bool Focus { get; init; } = true;

    /// <summary>fca: Calibration-Attention on.</summary>
    public bool Calibration { get; init; } = true;

    /// <summary>fcn: zero-pad audio shorter than the encoder needs instead of refusing it.</summary>
    public bool PadShort { get; init; }

    /// <summary>The settings of the built-in corpus trained on (recorded in checkpoints so eval can rebuild it); null for other data.</summary>
    public Corpus.BuiltinCorpusConfig? BuiltinCorpus { get; init; }

    /// <summary>fcn: a safetensors file with <c>features.*</c> weights to start from (e.g. torchvision's AlexNet).</summary>
    public string? Pretrained { get; init; }

    /// <summary>Keep computed features on disk in the output folder.</summary>
    public bool DiskFeatureCache { get; init; }

    /// <summary>The model's front end for these options.</summary>
    public FeatureSpec FeatureSpecFor()
    {
        switch (Model)
        {
            case "fcn":
                var settings = FcnFeatures switch
                {
                    "logspec" => FeatureSettings.PaperA,
                    "logmel" => FeatureSettings.PaperALogMel,
                    _ => throw new ArgumentException($"unknown fcn features '{FcnFeatures}' (known: logspec, logmel)"),
                };
                settings = settings with { Normalization = FcnNormalization ?? Recipe.Normalization };
                if (settings.Kind == FeatureKind.LogSpectrogram)
                    settings = settings with { KeepBins = FcnBins ?? Recipe.Bins };
                else if (FcnBins is not null)
                    throw new ArgumentException($"--bins applies to the log spectrogram, not to fcn features '{FcnFeatures}'");
                return new FeatureSpec(settings, PadShort ? FcnModel.MinimumSamples(settings) : 0);
            case "fca":
                return new FeatureSpec(FeatureSettings.PaperB, FcaModel.SegmentSamples(FeatureSettings.PaperB, new SegmentSettings()));
            default:
                throw new ArgumentException($"unknown model '{Model}' (known: fcn, fca)");
        }
    }

    /// <summary>A fresh model for <paramref name="labels"/>, initialised from <paramref name="rng"/>.</summary>
    public SerModel CreateModel(IReadOnlyList<string> labels, Generator rng, Backends.Backend backend)
    {
        var spec = FeatureSpecFor();
        return Model switch
        {
            "fcn" => new FcnModel(new AttentionFcnConfig(labels.Count, 1, Widths ?? Recipe.Widths, Lambda ?? Recipe.Lambda, Dropout ?? Recipe.Dropout,
                BatchNorm ?? Recipe.BatchNorm), labels, spec, rng, backend, Augmentation),
            _ => new FcaModel(new FocusCalibrationNetConfig(labels.Count, spec.Settings.Bins, Heads, HeadDim, Focus, Calibration, Dropout ?? 0.1f),
                new SegmentSettings(), labels, spec, rng, backend),
        };
    }

    /// <summary>The learning rate in use.</summary>
    public float EffectiveLearningRate => LearningRate ?? (Model != "fcn" ? 1e-3f : Pretrained is not null ? 1e-4f : Recipe.LearningRate);

    /// <summary>fcn: whether SpecAugment masks the training inputs.</summary>
    public bool EffectiveSpecAugment => Model == "fcn" && (SpecAugment ?? Recipe.SpecAugment);

    /// <summary>fcn: the largest frequency warp in use, in semitones (0: none).</summary>
    public float EffectiveFrequencyWarp => Model == "fcn" ? FrequencyWarp ?? Recipe.WarpSemitones : 0f;

    /// <summary>fcn: what augments each training input (warp and masks, warp alone, masks alone), or null.</summary>
    public SpecAugment? Augmentation => (EffectiveSpecAugment, EffectiveFrequencyWarp) switch
    {
        (true, var warp) => new SpecAugment(MaxWarpSemitones: warp),
        (false, > 0f and var warp) => Training.SpecAugment.WarpOnly(warp),
        _ => null,
    };

    /// <summary>The warm-up in use, in epochs.</summary>
    public int EffectiveWarmup => WarmupEpochs ?? (Model == "fcn" ? Recipe.WarmupEpochs : 0);

    /// <summary>The gradient clipping in use (0: none).</summary>
    public float EffectiveClipNorm => ClipNorm ?? (Model == "fcn" ? Recipe.ClipNorm : 0f);

    /// <summary>The weight decay in use.</summary>
    public float EffectiveWeightDecay => WeightDecay ?? (Model == "fca" ? 1e-6f : 0f);

    /// <summary>The step schedule in use (0: constant).</summary>
    public int EffectiveLrStep => LrStepEpochs ?? (Model == "fcn" ? Recipe.LrStepEpochs : 10);

    /// <summary>The epochs per fold in use.</summary>
    public int EffectiveEpochs => Epochs ?? (Model == "fcn" ? Recipe.Epochs : 50);

    /// <summary>The early-stopping patience in use (0: never stop early).</summary>
    public int EffectivePatience => Patience ?? (Model == "fcn" ? Recipe.Patience : 10);

    /// <summary>The validation share in use.</summary>
    public double EffectiveValidationFraction => ValidationFraction ?? (Model == "fcn" ? Recipe.ValidationFraction : 0.1);

    /// <summary>Learning rate of <paramref name="epoch"/> (1-based): ÷10 every <see cref="EffectiveLrStep"/> epochs.</summary>
    public float LearningRateAt(int epoch)
    {
        int step = EffectiveLrStep;
        return step <= 0 ? EffectiveLearningRate : (float)(EffectiveLearningRate * Math.Pow(0.1, (epoch - 1) / step));
    }

    /// <summary>
    /// Learning rate of step <paramref name="step"/> (0-based) of <paramref name="epoch"/>: <see cref="LearningRateAt(int)"/>
    /// times the linear warm-up factor min(1, g / (warm-up epochs · steps per epoch)), g the 1-based global step.
    /// </summary>
    public float LearningRateAt(int epoch, int step, int stepsPerEpoch)
    {
        float lr = LearningRateAt(epoch);
        int warm = EffectiveWarmup * stepsPerEpoch;
        if (warm <= 0) return lr;
        long g = (long)(epoch - 1) * stepsPerEpoch + step + 1;
        return g >= warm ? lr : lr * g / warm;
    }
}
