using System.Globalization;
using SerEngine.Audio;
using SerEngine.Models.Corpus;
using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser train [--model fcn|fca] [--data DIR] ...</c>: trains and tests with K-fold splits
/// (speaker independent by default), writes checkpoints and metrics.json per fold in the output
/// folder, and ends with <c>result: WA=0.xxx UA=0.xxx</c> (the mean over the folds run). Without
/// <c>--data</c> it uses the built-in synthetic corpus with a small default setup that runs in a few
/// minutes on two cores.
/// </summary>
public sealed class TrainCommand : ICommand
{
    /// <summary>Built-in corpus defaults: reduced AttentionFcn widths.</summary>
    public static readonly int[] BuiltinWidths = [16, 32, 48, 48, 32];

    /// <summary>Built-in corpus defaults: folds.</summary>
    public const int BuiltinFolds = 3;

    /// <summary>Built-in corpus defaults: epochs (fcn).</summary>
    public const int BuiltinFcnEpochs = 25;

    /// <summary>Built-in corpus defaults: epochs (fca).</summary>
    public const int BuiltinFcaEpochs = 12;

    /// <summary>Built-in corpus defaults: fca heads × head size.</summary>
    public const int BuiltinHeads = 2, BuiltinHeadDim = 32;

    /// <inheritdoc/>
    public string Name => "train";

    /// <inheritdoc/>
    public string Summary => "train and test a model with speaker-independent folds (built-in synthetic corpus without --data)";

    /// <inheritdoc/>
    public string Usage => "train [--model fcn|fca] [--data DIR] [--format F] [--split speaker|random] [--folds K] [--fold I] [--epochs N] [--seed S] [--out DIR] [--resume|--force] [options]";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("--model", "fcn|fca", "fcn: AttentionFcn (log spectrogram); fca: FocusCalibrationNet (MFCC segments). Default fcn"),
        new("--data", "DIR", "data folder or .csv manifest (default: the built-in synthetic corpus)"),
        new("--format", "F", "auto, ravdess, crema-d, emodb, iemocap, folders or csv (default auto)", Choices: ["auto", "ravdess", "crema-d", "emodb", "iemocap", "folders", "csv"]),
        new("--split", "KIND", "speaker (speaker-independent folds; IEMOCAP by session) or random (default speaker)", Choices: ["speaker", "random"]),
        new("--folds", "K", "number of folds (default 5; 3 for the built-in corpus)"),
        new("--fold", "I", "run only fold I (1-based); without it every fold runs and the mean is reported"),
        new("--test-list", "FILE", "use the utterances listed in FILE (ids, file names or paths) as the one test set"),
        new("--epochs", "N", "epochs per fold (default: fcn the recipe's, scratch 30, paper 50; fca 50; built-in corpus: 25 for fcn, 12 for fca)"),
        new("--seed", "S", "seed of every random choice (default 1)"),
        new("--out", "DIR", "output folder (default out/MODEL): foldI/last.safetensors, foldI/best.safetensors, metrics.json"),
        new("--resume", null, "continue from the output folder's last checkpoints"),
        new("--force", null, "replace an earlier run in the output folder (deletes only what 'ser train' wrote there)"),
        ModelCommandOptions.Backend,
        new("--batch", "N", "batch size (default: fcn 16 utterances, fca 32 segments)"),
        new("--lr", "X", "learning rate (default: fcn 1e-3, or 1e-4 with --pretrained; fca 1e-3)"),
        new("--weight-decay", "X", "weight decay (default: fcn 0, fca 1e-6)"),
        new("--optimizer", "adam|adamw", "Adam (L2 in the gradient) or AdamW (decoupled decay); default adam"),
        new("--lr-step", "N", "divide the learning rate by 10 every N epochs (default: fcn the recipe's, scratch 15, paper never; fca 10; 0 = never)"),
        new("--patience", "N", "stop after N epochs without a better validation UA (default 10; fcn scratch 0; 0 = never)"),
        new("--val-fraction", "X", "share of the training utterances held out for validation (default 0.1; fcn scratch 0.2; 0 keeps the last epoch)"),
        new("--balanced", null, "class-balanced sampling (pick a class uniformly, then an example of it)"),
        new("--recipe", "scratch|paper", "fcn: the settings behind the fcn defaults: scratch (learns from scratch; default with --data) or paper (Paper A exactly; the built-in corpus and --pretrained use it)"),
        new("--widths", "W0,..,W4", "fcn: the five conv widths (default: the recipe's; built-in corpus 16,32,48,48,32 unless --pretrained)"),
        new("--features", "KIND", "fcn: logspec (Paper A, default) or logmel", Choices: ["logspec", "logmel"]),
        new("--bins", "N", "fcn: log-spectrogram rows kept from 0 Hz up, 20 Hz each (1..401; default: the recipe's: scratch 300 = 0–6 kHz, paper 200 = 0–4 kHz)"),
        new("--norm", "KIND", "fcn: per-utterance normalisation: perbin (Paper A), global or none (default: the recipe's)", Choices: ["perbin", "global", "none"]),
        new("--dropout", "P", "dropout (default: fcn the recipe's, fca 0.1)"),
        new("--batchnorm", null, "fcn: batch norm after each convolution (statistics over valid frames only)"),
        new("--no-batchnorm", null, "fcn: no batch norm (Paper A)"),
        new("--spec-augment", null, "fcn: mask 2 frequency bands (≤ 20 bins) and 2 time spans (≤ 20 frames, ≤ 10 %) of each training input"),
        new("--no-spec-augment", null, "fcn: no masking"),
        new("--freq-warp", "ST", "fcn: warp each training input's frequency axis by a random factor within ±ST semitones (0 = off; default: the recipe's)"),
        new("--lambda", "X", "fcn: attention λ (default: the recipe's; Paper A 0.3)"),
        new("--warmup", "E", "linear learning-rate warm-up over the first E epochs (default: fcn the recipe's, fca 0)"),
        new("--clip", "C", "clip the global gradient norm to C (0 = off; default: fcn the recipe's, fca 0)"),
        new("--init", "FILE", "start from every weight in FILE (safetensors, the model's own names; a --dump-step file's w0.*)"),
        new("--dump-step", "FILE", "write the first training step of the first fold run (input, weights, logits, loss, gradients, weights after) to FILE for benchmarks/peer/train_parity.py --check-step"),
        new("--heads", "N", "fca: attention heads (default 4; built-in corpus 2)"),
        new("--head-dim", "N", "fca: head size (default 64; built-in corpus 32)"),
        new("--no-focus", null, "fca: switch Focus-Attention off"),
        new("--no-calibration", null, "fca: switch Calibration-Attention off"),
        new("--pad-short", null, "fcn: zero-pad utterances shorter than the encoder needs (0.67 s) instead of refusing them"),
        new("--pretrained", "FILE", "fcn: start the encoder from AlexNet weights (PyTorch .pth/.pt state dict or safetensors, torchvision names)"),
        new("--cache-features", null, "also keep computed features on disk in the output folder"),
        new("--corpus-speakers", "N", "built-in corpus: speakers (default 6)"),
        new("--corpus-utterances", "N", "built-in corpus: utterances per speaker and class (default 20)"),
        new("--corpus-classes", "N", "built-in corpus: classes, 2..4 of neutral, happy, sad, angry (default 4)"),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Positionals.Count > 0) throw new UsageException($"train takes no positional arguments, got '{args.Positionals[0]}' (usage: ser {Usage})");
        var model = args.Value("--model", "fcn")!;
        if (model is not ("fcn" or "fca")) throw new UsageException($"unknown model '{model}' (known: fcn, fca)");
        var backend = ModelCommandOptions.GetBackend(args);
        var dataPath = args.Value("--data");
        bool builtin = dataPath is null;
        foreach (var o in new[] { "--corpus-speakers", "--corpus-utterances", "--corpus-classes" })
            if (!builtin && args.Value(o) is not null) throw new UsageException($"{o} applies to the built-in corpus only (no --data)");
        if (builtin && args.Value("--format") is not null) throw new UsageException("--format needs --data");

        var split = args.Value("--split", "speaker") switch
        {
            "speaker" => SplitKind.Speaker,
            "random" => SplitKind.Random,
            var s => throw new UsageException($"unknown split '{s}' (known: speaker, random)"),
        };
        var testList = args.Value("--test-list");
        if (testList is not null)
        {
            if (Directory.Exists(testList)) throw new UsageException($"--test-list '{testList}' is a folder; expected a text file naming the test utterances");
            if (args.Value("--split") is not null || args.Value("--folds") is not null || args.Value("--fold") is not null)
                throw new UsageException("--test-list replaces --split, --folds and --fold");
            split = SplitKind.List;
        }
        var optimizer = args.Value("--optimizer", "adam");
        if (optimizer is not ("adam" or "adamw")) throw new UsageException($"unknown optimizer '{optimizer}' (known: adam, adamw)");
        var features = args.Value("--features", "logspec")!;
        if (features is not ("logspec" or "logmel")) throw new UsageException($"unknown fcn features '{features}' (known: logspec, logmel)");
        if (features == "logmel" && args.Value("--bins") is not null) throw new UsageException("--bins applies to --features logspec, not logmel");
        FeatureNormalization? norm = args.Value("--norm") switch
        {
            null => null,
            "perbin" => FeatureNormalization.PerBin,
            "global" => FeatureNormalization.Global,
            "none" => FeatureNormalization.None,
            var n => throw new UsageException($"unknown normalisation '{n}' (known: perbin, global, none)"),
        };
        var recipeName = args.Value("--recipe");
        var recipe = recipeName is null
            ? (builtin || args.Value("--pretrained") is not null ? FcnRecipe.Paper : FcnRecipe.Scratch)
            : FcnRecipe.Find(recipeName) ?? throw new UsageException($"unknown recipe '{recipeName}' (known: {string.Join(", ", FcnRecipe.All.Select(r => r.Name))})");
        ulong seed = 1;
        if (args.Value("--seed") is string seedText && !ulong.TryParse(seedText, NumberStyles.None, CultureInfo.InvariantCulture, out seed))
            throw new UsageException($"option '--seed' needs a whole number ≥ 0, got '{seedText}'");
        int folds = ModelCommandOptions.Int(args, "--folds", 2) ?? (builtin ? BuiltinFolds : 5);

        var options = new TrainOptions
        {
            Model = model,
            Epochs = ModelCommandOptions.Int(args, "--epochs", 1) ?? (builtin ? (model == "fcn" ? BuiltinFcnEpochs : BuiltinFcaEpochs) : null),
            Seed = seed,
            Split = split,
            Folds = folds,
            Fold = ModelCommandOptions.Int(args, "--fold", 1, split == SplitKind.List ? 1 : folds),
            TestList = testList,
            ValidationFraction = ModelCommandOptions.Number(args, "--val-fraction", 0, 1),
            Patience = ModelCommandOptions.Int(args, "--patience", 0),
            BatchSize = ModelCommandOptions.Int(args, "--batch", 1),
            LearningRate = (float?)ModelCommandOptions.Number(args, "--lr"),
            WeightDecay = (float?)ModelCommandOptions.Number(args, "--weight-decay"),
            AdamW = optimizer == "adamw",
            LrStepEpochs = ModelCommandOptions.Int(args, "--lr-step", 0),
            Balanced = args.Flag("--balanced"),
            Backend = backend.Name,
            Widths = ParseWidths(args.Value("--widths")) ?? (builtin && model == "fcn" && args.Value("--pretrained") is null ? BuiltinWidths : null),
            FcnFeatures = features,
            Recipe = recipe,
            FcnNormalization = norm,
            Dropout = (float?)ModelCommandOptions.Number(args, "--dropout", 0, 1),
            Lambda = (float?)ModelCommandOptions.Number(args, "--lambda", -100, 100),
            BatchNorm = Switch(args, "--batchnorm", "--no-batchnorm"),
            SpecAugment = Switch(args, "--spec-augment", "--no-spec-augment"),
            FrequencyWarp = (float?)ModelCommandOptions.Number(args, "--freq-warp", 0, 12),
            FcnBins = ModelCommandOptions.Int(args, "--bins", 1, FeatureSettings.PaperA.Stft.FreqBins),
            WarmupEpochs = ModelCommandOptions.Int(args, "--warmup", 0),
            ClipNorm = (float?)ModelCommandOptions.Number(args, "--clip", 0, 1e6),
            InitWeights = ExistingFile(args, "--init"),
            DumpStep = args.Value("--dump-step"),
            Heads = ModelCommandOptions.Int(args, "--heads", 1, FcaModel.MaxHeads) ?? (builtin ? BuiltinHeads : 4),
            HeadDim = ModelCommandOptions.Int(args, "--head-dim", 1, FcaModel.MaxHeadDim) ?? (builtin ? BuiltinHeadDim : 64),
            Focus = !args.Flag("--no-focus"),
            Calibration = !args.Flag("--no-calibration"),
            PadShort = args.Flag("--pad-short"),
            Pretrained = args.Value("--pretrained") is string pre && Directory.Exists(pre)
                ? throw new UsageException($"--pretrained '{pre}' is a folder; expected a .pth/.pt or .safetensors file")
                : args.Value("--pretrained"),
            DiskFeatureCache = args.Flag("--cache-features"),
        };
        if (options.DumpStep is not null) ModelCommandOptions.OutputFile("--dump-step", options.DumpStep);
        if (model == "fca")
            foreach (var o in new[] { "--widths", "--features", "--norm", "--pad-short", "--pretrained", "--recipe", "--lambda",
                         "--batchnorm", "--no-batchnorm", "--spec-augment", "--no-spec-augment", "--freq-warp", "--bins" })
                if (args.Value(o) is not null || args.Flag(o)) throw new UsageException($"{o} applies to fcn only");
        if (model == "fcn")
            foreach (var o in new[] { "--heads", "--head-dim", "--no-focus", "--no-calibration" })
                if (args.Value(o) is not null || args.Flag(o)) throw new UsageException($"{o} applies to fca only");
        if ((long)options.Heads * options.HeadDim > FcaModel.MaxAttentionWidth)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"options '--heads' × '--head-dim' must be at most {FcaModel.MaxAttentionWidth}, got {options.Heads} × {options.HeadDim} = {(long)options.Heads * options.HeadDim}"));

        var corpus = builtin
            ? new BuiltinCorpusConfig(
                Speakers: ModelCommandOptions.Int(args, "--corpus-speakers", 1, 64) ?? 6,
                UtterancesPerClass: ModelCommandOptions.Int(args, "--corpus-utterances", 1, 1000) ?? 20,
                Classes: ModelCommandOptions.Int(args, "--corpus-classes", 2, 4) ?? 4)
            : null;
        options = options with { BuiltinCorpus = corpus };
        // every option is checked before the output folder is touched (--force deletes)
        var outDir = args.Value("--out") ?? Path.Combine("out", model);
        bool resume = args.Flag("--resume"), force = args.Flag("--force");
        var earlier = CheckOutput(outDir, resume, force);
        var data = corpus is not null ? BuiltinCorpus.Create(corpus) : ModelCommandOptions.LoadData(args, dataPath!);
        CleanOutput(outDir, force ? earlier : [], stdout);

        var log = ModelCommandOptions.Log(stdout);
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        double startup = (DateTime.Now - process.StartTime).TotalSeconds; // runtime start, options, the data listing
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var phases = new RunPhases();
        var result = Experiment.Run(data, options, outDir, resume, log, phases: phases);
        log.Line(string.Create(CultureInfo.InvariantCulture, $"output: {outDir} ({clock.Elapsed.TotalSeconds:0} s)"));
        process.Refresh();
        log.Line(phases.Summary(startup, startup + clock.Elapsed.TotalSeconds, process.PeakWorkingSet64));
        log.Line(result.ResultLine);
        return 0;
    }

    /// <summary>
    /// Checks <c>--out</c> before any data is read: not a file; an earlier run in it is continued
    /// (<c>--resume</c>), replaced (<c>--force</c>) or refused. Returns what shows the earlier run.
    /// </summary>
    private static IReadOnlyList<string> CheckOutput(string outDir, bool resume, bool force)
    {
        if (resume && force) throw new UsageException("--resume and --force exclude each other (continue the run in --out, or replace it)");
        ModelCommandOptions.OutputFolder("--out", outDir);
        if (resume && !Directory.Exists(outDir)) throw new UsageException($"--resume: output folder '{outDir}' does not exist");
        var earlier = OutputFolder.EarlierRun(outDir);
        if (earlier.Count > 0 && !resume && !force)
            throw new UsageException($"--out '{outDir}' already holds a run ({string.Join(", ", earlier)}); add --resume to continue it, --force to replace it, or choose another --out");
        return earlier;
    }

    /// <summary>Once the data has loaded: removes the earlier run for <c>--force</c> (<paramref name="replace"/>) and the temps an interrupted write left.</summary>
    private static void CleanOutput(string outDir, IReadOnlyList<string> replace, TextWriter stdout)
    {
        try
        {
            if (replace.Count > 0)
            {
                OutputFolder.ClearRun(outDir);
                stdout.WriteLine($"output: --force: removed the earlier run in {outDir} ({string.Join(", ", replace)})");
            }
            var removed = OutputFolder.RemoveStaleTemps(outDir);
            if (removed.Count > 0)
                stdout.WriteLine($"output: removed {removed.Count} temp file{(removed.Count > 1 ? "s" : "")} an interrupted run left in {outDir} ({string.Join(", ", removed)})");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"--out '{outDir}': cannot clean the output folder: {ex.Message}", ex);
        }
    }

    /// <summary>true for <paramref name="on"/>, false for <paramref name="off"/>, null for neither (the recipe decides).</summary>
    private static bool? Switch(ParsedArgs args, string on, string off)
    {
        bool yes = args.Flag(on), no = args.Flag(off);
        if (yes && no) throw new UsageException($"{on} and {off} exclude each other");
        return yes ? true : no ? false : null;
    }

    private static string? ExistingFile(ParsedArgs args, string option)
    {
        var path = args.Value(option);
        if (path is null) return null;
        if (Directory.Exists(path)) throw new UsageException($"{option} '{path}' is a folder; expected a .safetensors file");
        if (!File.Exists(path)) throw new UsageException($"{option} '{path}' does not exist");
        return path;
    }

    private static int[]? ParseWidths(string? text)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var widths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out widths[i]) || widths[i] < 1 || widths[i] > FcnModel.MaxWidth)
                throw new UsageException($"option '--widths' needs five whole numbers in 1..{FcnModel.MaxWidth}, got '{text}'");
        if (widths.Length != 5) throw new UsageException($"option '--widths' needs five widths (w0..w4), got {widths.Length}");
        return widths;
    }
}
