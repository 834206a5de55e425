#!/usr/bin/env python3
"""MFCC-statistics baseline for a RAVDESS-style corpus, with the engine's speaker-independent folds.

Per utterance: torchaudio MFCC at 16 kHz (20 coefficients from 40 log-mel bands, 25 ms window,
10 ms hop) plus deltas, summarised by the mean and standard deviation of every coefficient over
the frames (80 numbers). This is the classic "utterance-level functionals" baseline: it sees the
average spectral envelope and its variability but little of pitch or its contour, which is why it
is a useful lower bound next to spectrogram CNNs.

Folds are exactly the engine's (Splits.SpeakerFold): the distinct speaker ids (7th field of the
RAVDESS name, as strings) sorted ordinally; fold k of K (1-based) tests on speakers
groups[(k-1)*G//K : k*G//K]. The features are standardised with training statistics and a
multinomial logistic regression (C=1, max_iter 2000) is trained on all non-test utterances.
Prints WA (accuracy) and UA (mean per-class recall) per fold, then
`result: WA=0.xxx UA=0.xxx folds=K` (the mean over the folds run).

Run:  python3 mfcc_baseline.py --data DIR [--folds 4] [--fold K] [--f-max HZ]
"""
import argparse
import os
import re
import sys

import numpy as np
import torch
import torchaudio
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, recall_score
from sklearn.preprocessing import StandardScaler

SR = 16000
RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.wav$", re.IGNORECASE)


def parse_args():
    """Parse and validate the command line (argparse exits with code 2 on bad input)."""
    p = argparse.ArgumentParser(description="MFCC mean/std + logistic regression SER baseline.")
    p.add_argument("--data", required=True, help="corpus folder, scanned recursively for RAVDESS names")
    p.add_argument("--folds", type=int, default=4, help="number of speaker-independent folds K (>= 2)")
    p.add_argument("--fold", type=int, help="run only fold K (1-based); default: all folds")
    p.add_argument("--f-max", type=float, default=8000.0,
                   help="top of the mel bands in Hz (default 8000, all of 16 kHz audio; 4000 sees what Paper A's 200 bins see)")
    a = p.parse_args()
    if a.folds < 2:
        p.error("--folds must be >= 2")
    if a.fold is not None and not 1 <= a.fold <= a.folds:
        p.error(f"--fold must be in 1..{a.folds}")
    if not 0 < a.f_max <= SR / 2:
        p.error(f"--f-max must be in (0, {SR // 2}]")
    if not os.path.isdir(a.data):
        p.error(f"--data {a.data} is not a directory")
    return a


def scan(root):
    """List (path, emotion code, speaker id) for every RAVDESS-named WAV under root, sorted by path."""
    items = []
    for d, _, files in os.walk(root):
        for f in files:
            m = RAVDESS_NAME.match(f)
            if m:
                items.append((os.path.join(d, f), m.group(3), m.group(7)))
    return sorted(items)


def load_mono_16k(path):
    """Load a file as a mono 16 kHz waveform (1, n)."""
    wav, sr = torchaudio.load(path)
    wav = wav.mean(dim=0, keepdim=True)
    return torchaudio.functional.resample(wav, sr, SR) if sr != SR else wav


def features(paths, f_max):
    """MFCC + delta mean/std functionals, one 80-dimensional row per file."""
    mfcc = torchaudio.transforms.MFCC(
        sample_rate=SR, n_mfcc=20, log_mels=True,
        melkwargs={"n_fft": 400, "win_length": 400, "hop_length": 160, "n_mels": 40, "f_max": f_max})
    rows = []
    with torch.no_grad():
        for p in paths:
            c = mfcc(load_mono_16k(p))[0]                       # (20, frames)
            c = torch.cat([c, torchaudio.functional.compute_deltas(c)])  # (40, frames)
            rows.append(torch.cat([c.mean(dim=1), c.std(dim=1)]).numpy())
    return np.stack(rows)


def speaker_fold(speakers, k, fold):
    """Test speakers of fold `fold` (1-based) of k, exactly as the engine's Splits.SpeakerFold."""
    groups = sorted(set(speakers))  # Python str order is ordinal, like StringComparer.Ordinal
    g = len(groups)
    return set(groups[(fold - 1) * g // k: fold * g // k])


def main():
    """Extract features once, then train and evaluate one logistic regression per fold."""
    a = parse_args()
    torch.set_num_threads(2)
    items = scan(a.data)
    if not items:
        print(f"error: no RAVDESS-named .wav files under {a.data}", file=sys.stderr)
        return 2
    paths, labels, speakers = (np.array(col) for col in zip(*items))
    if len(set(speakers)) < a.folds:
        print(f"error: {len(set(speakers))} speakers cannot make {a.folds} speaker folds", file=sys.stderr)
        return 2
    classes = sorted(set(labels))
    print(f"data: {len(paths)} files, {len(set(speakers))} speakers, classes {' '.join(classes)}")
    x = features(paths, a.f_max)
    results = []
    for fold in [a.fold] if a.fold else range(1, a.folds + 1):
        test_spk = speaker_fold(speakers, a.folds, fold)
        test = np.isin(speakers, list(test_spk))
        scaler = StandardScaler().fit(x[~test])
        clf = LogisticRegression(multi_class="multinomial", C=1.0, max_iter=2000)
        clf.fit(scaler.transform(x[~test]), labels[~test])
        pred = clf.predict(scaler.transform(x[test]))
        wa = accuracy_score(labels[test], pred)
        # Recall over the classes present in the test set (a class absent there has no recall).
        ua = recall_score(labels[test], pred, labels=sorted(set(labels[test])), average="macro",
                          zero_division=0)
        per_class = recall_score(labels[test], pred, labels=classes, average=None, zero_division=0)
        recalls = " ".join(f"{c}:{r:.2f}" for c, r in zip(classes, per_class))
        print(f"fold {fold}/{a.folds}: test speakers {','.join(sorted(test_spk))} n={test.sum()} "
              f"WA={wa:.3f} UA={ua:.3f} recall {recalls}")
        results.append((wa, ua))
    wa, ua = np.mean(results, axis=0)
    print(f"result: WA={wa:.3f} UA={ua:.3f} folds={len(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
