using System.Globalization;
using System.Text.Json;
using SerEngine;
using SerEngine.IO;
using SerEngine.Models.Data;
using SerEngine.Models.Training;
using SerEngine.Optim;

// usage: verify dump DIR MODEL SEED FOLDS FOLD OUT.safetensors
// One training step of SerEngine (dropout 0) in the --dump-step format, for train_parity.py --check-step.
static class DumpStep
{
    public static void Run(string[] a)
    {
        var data = DatasetReader.Load(a[1]);
        string model = a[2];
        ulong seed = ulong.Parse(a[3]); int folds = int.Parse(a[4]), fold = int.Parse(a[5]);
        var opt = new TrainOptions { Model = model, Seed = seed, Folds = folds, Dropout = 0f };
        var plan = Splits.Plan(data, opt, fold);
        var spec = opt.FeatureSpecFor();
        var feats = data.Utterances.Select(u => spec.Compute(u.LoadSamples(spec.Settings.SampleRate))).ToList();
        var backend = SerEngine.Backends.BackendRegistry.Get("cpu");
        var m = opt.CreateModel(data.Labels, Seeds.Generator(seed, (ulong)fold, 1), backend);
        var examples = plan.Train.SelectMany(u => m.TrainingExamples(u, feats[u])).ToArray();
        var labels = examples.Select(e => data.LabelIndex(data.Utterances[e.Utterance].Label)).ToArray();
        var order = FoldTrainer.EpochOrder(labels, data.Labels.Count, false, Seeds.Generator(seed, (ulong)fold, 2));
        int n = Math.Min(m.DefaultBatchSize, order.Length);
        var batch = order.Take(n).Select(i => examples[i]).ToArray();
        var y = order.Take(n).Select(i => labels[i]).ToArray();
        int f = feats[batch[0].Utterance].Bins;
        int t = model == "fcn" ? batch.Max(e => feats[e.Utterance].Frames) : 63;
        var x = new float[n * f * t];
        var valid = new float[n];
        for (int i = 0; i < n; i++)
        {
            var fm = feats[batch[i].Utterance];
            int start = batch[i].Start, len = Math.Min(t, fm.Frames - start);
            valid[i] = fm.Frames;
            for (int r = 0; r < f; r++) fm.Values.AsSpan(r * fm.Frames + start, len).CopyTo(x.AsSpan((i * f + r) * t, len));
        }
        var outT = new List<KeyValuePair<string, HostTensor>>();
        void Put(string name, Tensor v) => outT.Add(new(name, HostTensor.FromTensor(v)));
        foreach (var (k, v) in m.Network.StateDict()) Put("w0." + k, v);
        var parameters = m.Network.Parameters().ToList();
        var adam = new Adam(parameters, opt.EffectiveLearningRate, weightDecay: opt.EffectiveWeightDecay);
        m.Network.Train();
        using (var scope = TensorScope.Begin())
        {
            var xt = Tensor.FromArray(x, new Shape(n, 1, f, t), backend);
            var logits = m is FcnModel fcn ? fcn.Net.Forward(xt, valid.Select(v => (int)v).ToArray()).Logits : ((FcaModel)m).Net.Forward(xt).Logits;
            var loss = Ops.CrossEntropy(logits, Tensor.FromArray(y, new Shape(n), backend));
            adam.ZeroGrad();
            loss.Backward();
            Put("x", xt);
            Put("logits", logits);
            outT.Add(new("loss", new HostTensor(new Shape(1), [loss.Item()])));
            foreach (var (k, p) in m.Network.NamedParameters()) Put("grad." + k, p.Grad!);
            adam.Step();
        }
        foreach (var (k, v) in m.Network.StateDict()) Put("w1." + k, v);
        if (model == "fcn") outT.Add(new("valid", new HostTensor(new Shape(n), valid)));
        outT.Add(new("y", new HostTensor(new Shape(n), y.Select(v => (float)v).ToArray())));
        var ids = batch.Select(e => data.Utterances[e.Utterance].Id).ToArray();
        string batchJson = model == "fcn" ? JsonSerializer.Serialize(ids)
            : JsonSerializer.Serialize(batch.Select(e => new object[] { data.Utterances[e.Utterance].Id, e.Start }));
        var md = new Dictionary<string, string>
        {
            ["model"] = model, ["engine"] = "serengine-probe", ["batch"] = batchJson,
            ["lr"] = opt.EffectiveLearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["weight_decay"] = opt.EffectiveWeightDecay.ToString("R", CultureInfo.InvariantCulture),
            ["lambda"] = "0.3", ["dropout"] = "0", ["clip"] = "0", ["norm"] = "per-bin",
        };
        SafeTensors.Write(a[6], outT, md);
        Console.WriteLine($"dump: {a[6]}: {model}, {n} examples, loss {outT.First(p => p.Key == "loss").Value.Floats![0]}");
    }
}
