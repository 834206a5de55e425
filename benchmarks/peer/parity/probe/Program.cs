using SerEngine;
using SerEngine.Audio;
using SerEngine.Models.Data;
using SerEngine.Models.Training;
using System.Globalization;
// usage: verify DIR MODEL SEED FOLDS FOLD EPOCHS OUTPREFIX
var data = DatasetReader.Load(args[0]);
string model = args[1];
ulong seed = ulong.Parse(args[2]); int folds = int.Parse(args[3]), fold = int.Parse(args[4]), epochs = int.Parse(args[5]);
var opt = new TrainOptions { Model = model, Seed = seed, Folds = folds, FcnNormalization = Environment.GetEnvironmentVariable("NORM") == "global" ? FeatureNormalization.Global : Environment.GetEnvironmentVariable("NORM") == "none" ? FeatureNormalization.None : FeatureNormalization.PerBin };
var plan = Splits.Plan(data, opt, fold);
var spec = opt.FeatureSpecFor();
var feats = data.Utterances.Select(u => new FeatureSpec(spec.Settings, spec.PadToSamples).Compute(u.LoadSamples(spec.Settings.SampleRate))).ToList();
var rng = Seeds.Generator(seed, (ulong)fold, 1);
var m = opt.CreateModel(data.Labels, rng, SerEngine.Backends.BackendRegistry.Get("cpu"));
using var w = new StreamWriter(args[6] + ".txt");
w.WriteLine("labels " + string.Join(",", data.Labels));
w.WriteLine("ids " + string.Join("|", data.Utterances.Select(u => u.Id)));
w.WriteLine("train " + string.Join(",", plan.Train));
w.WriteLine("validation " + string.Join(",", plan.Validation));
w.WriteLine("test " + string.Join(",", plan.Test));
var examples = plan.Train.SelectMany(u => m.TrainingExamples(u, feats[u])).ToArray();
w.WriteLine("examples " + string.Join(",", examples.Select(e => $"{e.Utterance}:{e.Start}")));
var labels = examples.Select(e => data.LabelIndex(data.Utterances[e.Utterance].Label)).ToArray();
var shuffle = Seeds.Generator(seed, (ulong)fold, 2);
for (int e = 1; e <= epochs; e++) w.WriteLine($"order{e} " + string.Join(",", FoldTrainer.EpochOrder(labels, data.Labels.Count, false, shuffle)));
foreach (var (name, t) in m.Network.NamedParameters())
{
    var v = t.ToArray();
    w.WriteLine($"param {name} {string.Join(",", v.Take(3).Concat(v.TakeLast(2)).Select(x => BitConverter.SingleToInt32Bits(x).ToString(CultureInfo.InvariantCulture)))}");
}
// features of the first 3 utterances as raw float32
using var fs = File.Create(args[6] + ".feat");
using var bw = new BinaryWriter(fs);
foreach (var f in feats.Take(3)) { bw.Write(f.Bins); bw.Write(f.Frames); foreach (var x in f.Values) bw.Write(x); }
