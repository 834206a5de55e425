#!/usr/bin/env python3
"""Generate a synthetic, deliberately hard speech-emotion corpus in RAVDESS file naming.

Every utterance is one of ~20 neutral English sentences spoken by one of N synthetic speakers
(espeak-ng and flite voices, interleaved over the speaker ids so that every speaker-independent
fold mixes both synthesizers) in one of four emotions: 01 neutral, 03 happy, 04 sad, 05 angry.

Why the cues look the way they do: the corpus should reward a model that sees pitch and its
contour (e.g. a CNN on a linear 0-4 kHz log spectrogram, where harmonics are visible) more than
one that only sees the spectral envelope (MFCC mean/std statistics). So emotion is carried by
prosody - F0 level, F0 range, a rising or falling sentence ending, speaking rate - and by voice
quality (spectral tilt, overdrive for angry), each drawn per utterance from per-emotion normal
distributions that overlap (neighbouring means are 1-2 sd apart), plus per-speaker offsets. The
voice-quality cues had to be stronger than first planned: the noise below masks a 3 kHz tilt, and
with weak envelope cues the MFCC baseline stayed near 0.45 UA. Half of each F0 shift is done by
sox `pitch`, which also nudges the formants (as a raised larynx would). Sentence choice is
random, so the words carry no emotion. Noise at 8-25 dB SNR (white/pink/brown mix), reverb on
about half of the files and a random peak level stop the recording conditions from being a
shortcut.

Output: DIR/Actor_AA/03-01-EE-01-SS-RR-AA.wav, 16 kHz mono 16-bit PCM, 1-3.5 s, where SS is the
sentence number and RR the repetition index. Deterministic for a given --seed, whatever --jobs.

Run:  python3 make_corpus.py --out /work/corpora/hard12 [--speakers 12] [--per-emotion 12]
                             [--seed 1] [--jobs 2]
Needs espeak-ng, flite and sox on PATH.
"""
import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np

SR = 16000
SENTENCES = [
    "The train leaves at seven tonight.", "Please put the folder on the table.",
    "The meeting moved to the second floor.", "He bought bread on the way home.",
    "The window faces the old garden.", "We will talk about it tomorrow.",
    "Kids are talking by the door.", "Dogs are sitting by the door.",
    "The report is due next Monday.", "She parked the car near the station.",
    "The lamp is next to the bookshelf.", "They painted the fence last week.",
    "The bus stops at the corner.", "I left my keys in the kitchen.",
    "The letter arrived this morning.", "Turn left after the bridge.",
    "The shop closes at nine.", "My brother lives in the city.",
    "The coffee is on the counter.", "We walked along the river.",
]
EMOTIONS = {"01": "neutral", "03": "happy", "04": "sad", "05": "angry"}
# Per-emotion means and one shared standard deviation per cue (order: neutral, happy, sad, angry).
# No single cue separates all four classes; tuned so that the MFCC baseline gets ~0.55 UA (seed 1).
CUES = {
    "pitch_st": ((0.0, 3.0, -3.0, 2.0), 1.3),            # F0 level, semitones from speaker base
    "range": ((1.0, 1.6, 0.55, 1.4), 0.3),               # F0 range, factor on the synth default
    "rate": ((1.0, 1.15, 0.8, 1.18), 0.07),              # speaking rate factor
    "end_bend": ((-60.0, 180.0, -200.0, -80.0), 130.0),  # pitch bend over the last 0.5 s, cents
    "tilt_db": ((0.0, 5.0, -8.0, 6.0), 2.0),             # treble shelf at 1 kHz: brighter / darker
    "drive_db": ((0.0, 0.0, 0.0, 10.0), 2.5),            # overdrive gain (> 1 dB applied): tense
    "level_db": ((0.0, 1.0, -2.0, 1.5), 3.0),            # peak level offset (weak; on -12..-1 dB)
}
SPEAKER_CUE_SD = 0.3  # per-speaker offsets of every cue, in units of that cue's sd
ESPEAK_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc",
                 "en-gb-x-gbclan"]
ESPEAK_VARIANTS = ["m3", "f2", "m7", "f4", "m1", "f1", "m5", "f3"]
# Flite voice and the F0 mean (Hz) its prosody model uses as a base for int_f0_target_mean.
FLITE_VOICES = [("kal16", 105.0), ("slt", 170.0), ("awb", 120.0), ("rms", 105.0), ("kal", 100.0)]


def parse_args():
    """Parse and validate the command line (argparse exits with code 2 on bad input)."""
    p = argparse.ArgumentParser(description="Generate a hard synthetic RAVDESS-style SER corpus.")
    p.add_argument("--out", required=True, help="output directory (Actor_AA subfolders)")
    p.add_argument("--speakers", type=int, default=12, help="number of speakers, 2..99")
    p.add_argument("--per-emotion", type=int, default=12, help="utterances per speaker and emotion")
    p.add_argument("--seed", type=int, default=1, help="random seed (output is deterministic)")
    p.add_argument("--jobs", type=int, default=2, help="parallel worker processes")
    a = p.parse_args()
    if not 2 <= a.speakers <= 99:
        p.error("--speakers must be in 2..99 (two-digit actor ids)")
    if not 1 <= a.per_emotion <= 99:
        p.error("--per-emotion must be in 1..99 (two-digit repetition ids)")
    if a.jobs < 1 or a.seed < 0:
        p.error("--jobs must be >= 1 and --seed >= 0")
    return a


def make_speakers(n, seed):
    """Describe n speakers; synthesizers are interleaved so consecutive ids mix both engines."""
    n_flite = round(n * 5 / 12)
    speakers = []
    for i in range(n):
        rng = np.random.default_rng([seed, 1000 + i])
        # Speaker i is flite whenever floor(i*F/n) steps up: spreads F flite ids evenly over n.
        is_flite = (i + 1) * n_flite // n > i * n_flite // n
        spk = {"id": f"{i + 1:02d}",
               # Fixed sox pitch shift (moves formants too) and tilt so that same-voice speakers differ.
               "shift_cents": float(rng.uniform(-150, 150)),
               "tilt_db": float(rng.normal(0, 1.5)),
               "tempo": float(rng.uniform(0.92, 1.08)),
               "offsets": {c: float(rng.normal(0, SPEAKER_CUE_SD * sd)) for c, (_, sd) in CUES.items()}}
        k = sum(s["engine"] == ("flite" if is_flite else "espeak") for s in speakers)
        if is_flite:
            voice, f0 = FLITE_VOICES[k % len(FLITE_VOICES)]
            spk.update(engine="flite", voice=voice, f0=f0 * float(rng.uniform(0.9, 1.1)))
        else:
            voice = ESPEAK_VOICES[k % len(ESPEAK_VOICES)]
            variant = ESPEAK_VARIANTS[k % len(ESPEAK_VARIANTS)]
            spk.update(engine="espeak", voice=f"{voice}+{variant}",
                       base_p=int(rng.integers(35, 66)), base_s=int(rng.integers(150, 181)))
        speakers.append(spk)
    return speakers


def draw_params(rng, spk, emo_index):
    """Draw one utterance's cue values: emotion mean + speaker offset + per-utterance noise."""
    return {c: means[emo_index] + spk["offsets"][c] + rng.normal(0, sd)
            for c, (means, sd) in CUES.items()}


def run(cmd):
    """Run an external tool, failing loudly with its stderr."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {r.stderr.strip()[:300]}")


def synthesize(spk, text, prm, path):
    """Speak text with the speaker's engine, applying F0 level, F0 range and rate natively."""
    rate = max(prm["rate"], 0.6)
    f0_factor = 2 ** (prm["pitch_st"] / 24)  # half of the F0 shift; sox `pitch` adds the other half
    f0_range = float(np.clip(prm["range"], 0.15, 2.5))
    if spk["engine"] == "espeak":
        # espeak-ng's SSML pitch percentage moves the measured F0 by only about half as much.
        ssml = (f'<speak><prosody pitch="{max(2 * (f0_factor - 1), -0.8) * 100:+.0f}%" '
                f'range="{f0_range * 100:.0f}%">{text}</prosody></speak>')
        run(["espeak-ng", "-v", spk["voice"], "-p", str(spk["base_p"]),
             "-s", str(round(spk["base_s"] * rate)), "-m", "-w", path, ssml])
    else:
        run(["flite", "-voice", spk["voice"], "--setf", f"duration_stretch={1 / rate:.3f}",
             "--setf", f"int_f0_target_mean={spk['f0'] * f0_factor:.1f}",
             "--setf", f"int_f0_target_stddev={spk['f0'] * 0.18 * f0_range:.1f}",
             "-t", text, "-o", path])


def read_wav(path):
    """Read a 16-bit mono WAV file as float32 in [-1, 1]."""
    with wave.open(path, "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def write_wav(path, x):
    """Write float samples as 16 kHz mono 16-bit PCM."""
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def colored_noise(rng, n):
    """Random mix of white, pink and brown noise with unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / SR), 20.0)
    parts = [np.fft.irfft(spec / f ** e, n) for e in (0.0, 0.5, 1.0)]  # white, pink, brown
    noise = sum(w * p / (np.std(p) + 1e-12) for w, p in zip(rng.dirichlet([1, 1, 1]), parts))
    return noise / (np.std(noise) + 1e-12)


def render(job):
    """Produce one file: synthesize, sox effects (speaker, contour, quality, reverb), noise, level."""
    seed, spk, emo, emo_index, rep, out_dir = job
    rng = np.random.default_rng([seed, int(spk["id"]), int(emo), rep])
    prm = draw_params(rng, spk, emo_index)
    sent = int(rng.integers(len(SENTENCES)))
    name = f"03-01-{emo}-01-{sent + 1:02d}-{rep:02d}-{spk['id']}.wav"
    with tempfile.TemporaryDirectory() as tmp:
        raw, mid, fx = (os.path.join(tmp, n) for n in ("raw.wav", "mid.wav", "fx.wav"))
        synthesize(spk, SENTENCES[sent], prm, raw)
        # sox -D: no dither, whose random noise would make the output differ run to run.
        # Step 1: resample, strip edge silence (so the bend lands on the last words), speaker offsets.
        # Half of the emotion's F0 shift is done here: sox `pitch` also moves the formants a little,
        # like a raised larynx, which gives the envelope-only baseline something to see.
        run(["sox", "-D", raw, "-r", str(SR), "-c", "1", "-b", "16", mid,
             "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse",
             "pitch", f"{spk['shift_cents'] + 50 * prm['pitch_st']:.0f}", "tempo", "-s", f"{spk['tempo']:.3f}"])
        dur = len(read_wav(mid)) / SR
        # Step 2: rising/falling ending, voice quality, optional reverb.
        # Headroom first: treble boost and overdrive must not clip (the level is set later anyway).
        # sox rejects a bend of 0 cents, hence `or 1`.
        effects = ["gain", "-10", "bend", f"{max(dur - 0.55, 0):.2f},{round(prm['end_bend']) or 1},0.5",
                   "treble", f"{prm['tilt_db'] + spk['tilt_db']:.1f}", "1000"]
        if prm["drive_db"] > 1.0:
            effects += ["overdrive", f"{min(prm['drive_db'], 12):.1f}", "10"]
        if rng.random() < 0.5:
            effects += ["reverb", f"{rng.uniform(20, 80):.0f}", "50", f"{rng.uniform(30, 100):.0f}"]
        run(["sox", "-D", mid, "-b", "16", fx, *effects, "channels", "1"])
        x = read_wav(fx)
    # Pad with random lead/tail silence, then force 1-3.5 s: cut the lead-in before any speech.
    x = np.concatenate([np.zeros(int(rng.uniform(0.05, 0.3) * SR), np.float32), x,
                        np.zeros(int(rng.uniform(0.05, 0.3) * SR), np.float32)])
    if len(x) > int(3.5 * SR):
        x = x[len(x) - int(3.5 * SR):]
    if len(x) < SR:
        x = np.pad(x, ((SR - len(x)) // 2, SR - len(x) - (SR - len(x)) // 2))
    speech_rms = np.sqrt(np.mean(x[np.abs(x) > 0.01 * np.abs(x).max()] ** 2)) + 1e-9
    snr_db = rng.uniform(8, 25)
    x = x + colored_noise(rng, len(x)) * speech_rms * 10 ** (-snr_db / 20)
    peak_db = min(rng.uniform(-12, -1) + prm["level_db"], -0.5)
    x = x / (np.abs(x).max() + 1e-9) * 10 ** (peak_db / 20)
    path = os.path.join(out_dir, f"Actor_{spk['id']}", name)
    write_wav(path, x)
    return len(x) / SR


def main():
    """Check tools, plan all utterances, render them in parallel and print a summary line."""
    a = parse_args()
    missing = [t for t in ("espeak-ng", "flite", "sox") if shutil.which(t) is None]
    if missing:
        print(f"error: missing required tool(s): {', '.join(missing)} (install them and retry)",
              file=sys.stderr)
        return 2
    t0 = time.time()
    speakers = make_speakers(a.speakers, a.seed)
    for spk in speakers:
        os.makedirs(os.path.join(a.out, f"Actor_{spk['id']}"), exist_ok=True)
    jobs = [(a.seed, spk, emo, ei, rep, a.out) for spk in speakers
            for ei, emo in enumerate(EMOTIONS) for rep in range(1, a.per_emotion + 1)]
    with multiprocessing.Pool(a.jobs) as pool:
        durations = pool.map(render, jobs, chunksize=4)
    engines = sum(s["engine"] == "espeak" for s in speakers)
    print(f"corpus: {len(durations)} files, {a.speakers} speakers ({engines} espeak-ng, "
          f"{a.speakers - engines} flite), {sum(durations):.0f} s audio, "
          f"{time.time() - t0:.0f} s wall -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
