"""Data: the RAVDESS-named folder reader, the fold splits and the two front ends, as `ser train`.

Reader (Data/FileNameCorpora.cs, DatasetReader.cs): every *.wav under the folder (recursive,
case-insensitive extension, macOS "._" files skipped), sorted ordinally by path; id = path
relative to the folder with '/'; name MM-VV-EE-II-SS-RR-AA, label = RAVDESS_LABELS[EE-1],
speaker = fold group = AA. Class indices: RAVDESS_LABELS order restricted to the labels present.

Splits (Training/Splits.cs): speaker folds = contiguous runs of the sorted groups; validation = a
class-stratified sample of the rest drawn with generator(seed, fold, 3).

Front ends (Audio/FeatureSettings.cs), computed in float64 then stored as float32 like ours:
fcn (PaperA): 16 kHz, periodic Hamming 640 centred in n_fft 800, hop 160, no centring, |X|,
lowest 200 bins (--bins), log(1+|X|), per-utterance normalisation (x − mean)/max(std, 1e-5) with the
population std, per bin (default), over the whole matrix (global) or none.
fca (PaperB): audio shorter than 62·512 samples zero-padded at the end, then 26 MFCCs
(torchaudio.transforms.MFCC: n_fft 2048, hop 512, periodic Hann, centre with zero padding,
128 slaney mel bands with slaney norm, power 2, dB with top_db 80, ortho DCT).
"""
import math
import os
import re
from dataclasses import dataclass

import torch
import torchaudio

from . import rng

RAVDESS_LABELS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
_RAVDESS = re.compile(r"^\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$")
SAMPLE_RATE = 16000
FCA_PAD_SAMPLES = (63 - 1) * 512


@dataclass
class Utterance:
    id: str
    label: str
    speaker: str
    path: str


@dataclass
class Dataset:
    root: str
    utterances: list
    labels: list

    def label_index(self, label):
        return self.labels.index(label)

    @property
    def groups(self):
        return sorted({u.speaker for u in self.utterances})


def load_ravdess(root):
    """All RAVDESS-named WAVs under `root`, in our utterance order."""
    files = []
    for d, _, names in os.walk(root):
        for n in names:
            if n.lower().endswith(".wav") and not n.startswith("._"):
                files.append(os.path.join(root, os.path.relpath(os.path.join(d, n), root)))
    files.sort()  # ordinal; all share the root prefix
    if not files:
        raise SystemExit(f"no WAV files in {root}")
    utts = []
    for f in files:
        name = os.path.splitext(os.path.basename(f))[0]
        if not _RAVDESS.match(name):
            raise SystemExit(f"{f} does not follow RAVDESS naming (e.g. 03-01-05-01-02-01-12.wav)")
        fields = name.split("-")
        code = int(fields[2])
        if not 1 <= code <= 8:
            raise SystemExit(f"{name}.wav: emotion code {fields[2]} is not a RAVDESS emotion (01-08)")
        utts.append(Utterance(os.path.relpath(f, root).replace(os.sep, "/"), RAVDESS_LABELS[code - 1], fields[6], f))
    present = {u.label for u in utts}
    labels = [l for l in RAVDESS_LABELS if l in present]
    if len(labels) < 2:
        raise SystemExit(f"{root} has only one class; training needs at least two")
    return Dataset(root, utts, labels)


@dataclass
class FoldPlan:
    fold: int
    folds: int
    train: list
    validation: list
    test: list
    description: str


def _round_away(x):
    f = math.floor(x)
    return f + 1 if x - f >= 0.5 else f


def stratified_sample(data, pool, fraction, gen):
    """Splits.StratifiedSample: round(fraction·n) of each class (≥ 1 when n ≥ 2, < n)."""
    picked = []
    if fraction == 0:
        return picked
    for label in data.labels:
        members = [i for i in pool if data.utterances[i].label == label]
        take = _round_away(fraction * len(members))
        if take == 0 and len(members) >= 2:
            take = 1
        if take >= len(members):
            take = len(members) - 1
        if take <= 0:
            continue
        gen.shuffle(members)
        picked.extend(members[:take])
    return picked


def plan_fold(data, folds, fold, seed, val_fraction):
    """Splits.Plan for the speaker split."""
    groups = data.groups
    if len(groups) < folds:
        raise SystemExit(f"a speaker split into {folds} folds needs at least {folds} speakers; {data.root} has {len(groups)}")
    first, end = (fold - 1) * len(groups) // folds, fold * len(groups) // folds
    chosen = set(groups[first:end])
    test = [i for i, u in enumerate(data.utterances) if u.speaker in chosen]
    rest = [i for i, u in enumerate(data.utterances) if u.speaker not in chosen]
    val = stratified_sample(data, rest, val_fraction, rng.generator(seed, fold, 3))
    vs = set(val)
    train = [i for i in rest if i not in vs]
    return FoldPlan(fold, folds, train, sorted(val), test, "test speakers " + ", ".join(sorted(chosen)))


def load_samples(path):
    """Mono float32 samples at 16 kHz (channels averaged; resampled when needed)."""
    wav, sr = torchaudio.load(path)
    x = wav.double().mean(0)
    if sr != SAMPLE_RATE:
        # ours: a Kaiser-windowed sinc (32 zero crossings, rolloff 0.945, beta 9); closest torchaudio form
        x = torchaudio.functional.resample(x, sr, SAMPLE_RATE, lowpass_filter_width=32, rolloff=0.945,
                                           resampling_method="kaiser_window", beta=9.0)
    return x.float()


_SPEC = torchaudio.transforms.Spectrogram(n_fft=800, win_length=640, hop_length=160, window_fn=torch.hamming_window,
                                          power=1.0, center=False).double()
_MFCC = torchaudio.transforms.MFCC(sample_rate=SAMPLE_RATE, n_mfcc=26, dct_type=2, norm="ortho", log_mels=False,
                                   melkwargs=dict(n_fft=2048, win_length=2048, hop_length=512, window_fn=torch.hann_window,
                                                  center=True, pad_mode="constant", power=2.0, n_mels=128,
                                                  norm="slaney", mel_scale="slaney")).double()


def normalize(m, norm):
    """Cepstrum.MeanVarianceNormalize: (x − mean) / max(population std, 1e-5), per row or over all."""
    if norm == "none":
        return m
    dims = (1,) if norm == "per-bin" else (0, 1)
    mean = m.mean(dim=dims, keepdim=True)
    std = ((m - mean) ** 2).mean(dim=dims, keepdim=True).sqrt().clamp(min=1e-5)
    return (m - mean) / std


def fcn_features(samples, norm="per-bin", bins=200):
    """[bins, T] float32 normalised log(1+|STFT|) (PaperA: the lowest 200 bins, 0-4 kHz)."""
    with torch.no_grad():
        spec = _SPEC(samples.double())[:bins]
        return normalize(torch.log1p(spec), norm).float()


def fca_features(samples):
    """[26, T] float32 MFCCs (PaperB) after zero-padding short audio to 2 s of frames."""
    if samples.numel() < FCA_PAD_SAMPLES:
        samples = torch.nn.functional.pad(samples, (0, FCA_PAD_SAMPLES - samples.numel()))
    with torch.no_grad():
        return _MFCC(samples.double()).float()


def compute_features(data, model, norm="per-bin", bins=200):
    """Features of every utterance, in data order."""
    out = []
    for u in data.utterances:
        s = load_samples(u.path)
        out.append(fcn_features(s, norm, bins) if model == "fcn" else fca_features(s))
    return out
