"""FocusCalibrationNet (MODELS.md, B; models/SerEngine.Models/FocusCalibrationNet.cs and
Attention/FocusCalibrationAttention.cs) in PyTorch, and the segment cutting of Training/FcaModel.cs.

Head-Fusion CNN over MFCC segments x [N, 1, 26, 63] -> tokens [N, T', 80·F'] (feature c·F' + f),
multi-head self-attention with Focus-Attention (a Gaussian bias −2 (j − P_i)² / W_i², P = T·σ(p),
W = T·σ(z)) and Calibration-Attention (a sigmoid gate per head from the time-mean of its output),
residual + ReLU, mean over time, dropout, classifier.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SEGMENT, TRAIN_HOP, EVAL_HOP = 63, 31, 13


def encoded_bins(freq_bins):
    return (freq_bins - 1) // 2 // 2


class FocusCalibrationAttention(nn.Module):
    def __init__(self, d_in, heads, head_dim, focus=True, calibration=True, dropout=0.1):
        super().__init__()
        self.heads, self.head_dim, self.focus, self.dropout = heads, head_dim, focus, dropout
        hd = heads * head_dim
        self.query, self.key, self.value = nn.Linear(d_in, hd), nn.Linear(d_in, hd), nn.Linear(d_in, hd)
        if focus:
            self.focus_query = nn.Linear(hd, hd)
            self.focus_global = nn.Linear(hd, hd)
            self.u_p = nn.Parameter(torch.randn(heads, head_dim) / math.sqrt(head_dim))
            self.u_z = nn.Parameter(torch.randn(heads, head_dim) / math.sqrt(head_dim))
        self.calibrated = calibration
        if calibration:
            self.calibration = nn.Linear(hd, heads)
        self.out = nn.Linear(hd, d_in)

    def _split(self, x):
        n, t, _ = x.shape
        return x.view(n, t, self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x):
        n, t, _ = x.shape
        h, dh = self.heads, self.head_dim
        q = self.query(x)
        qh, kh, vh = self._split(q), self._split(self.key(x)), self._split(self.value(x))
        scores = qh @ kh.transpose(-1, -2) / math.sqrt(dh)  # ours: softmax(scale·QKᵀ + bias)
        if self.focus:
            c = torch.tanh(self.focus_query(q) + self.focus_global(q.mean(1, keepdim=True)))
            ch = self._split(c)
            p = (ch * self.u_p.view(1, h, 1, dh)).sum(3)
            z = (ch * self.u_z.view(1, h, 1, dh)).sum(3)
            centres, widths = torch.sigmoid(p) * t, torch.sigmoid(z) * t
            pos = torch.arange(t, dtype=x.dtype, device=x.device).view(1, 1, 1, t)
            dist = pos - centres.view(n, h, t, 1)
            scores = scores + dist.square() / widths.view(n, h, t, 1).square() * -2.0
        attention = torch.softmax(scores, dim=-1)
        o = F.dropout(attention, self.dropout, self.training) @ vh  # [N, H, T, dh]
        if self.calibrated:
            gates = torch.sigmoid(self.calibration(o.mean(2).reshape(n, h * dh)))
            o = o * gates.view(n, h, 1, 1)
        return self.out(o.permute(0, 2, 1, 3).reshape(n, t, h * dh))


class FocusCalibrationNet(nn.Module):
    def __init__(self, classes, freq_bins=26, heads=4, head_dim=64, focus=True, calibration=True, dropout=0.1):
        super().__init__()
        self.dropout, self.heads, self.head_dim = dropout, heads, head_dim
        self.conv1a, self.bn1a = nn.Conv2d(1, 8, (10, 2), padding=(4, 0)), nn.BatchNorm2d(8)
        self.conv1b, self.bn1b = nn.Conv2d(1, 8, (2, 8), padding=(0, 3)), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.conv3, self.bn3 = nn.Conv2d(32, 48, 3, padding=1), nn.BatchNorm2d(48)
        self.conv4, self.bn4 = nn.Conv2d(48, 64, 3, padding=1), nn.BatchNorm2d(64)
        self.conv5, self.bn5 = nn.Conv2d(64, 80, 3, padding=1), nn.BatchNorm2d(80)
        self.d_in = 80 * encoded_bins(freq_bins)
        self.attn = FocusCalibrationAttention(self.d_in, heads, head_dim, focus, calibration, dropout)
        self.fc = nn.Linear(self.d_in, classes)

    def init_order(self):
        """(name, (kind, arg)) in the order ours draws them from its generator."""
        order = []
        for name in ["conv1a", "conv1b", "conv2", "conv3", "conv4", "conv5"]:
            conv = getattr(self, name)
            fan = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
            order += [(f"{name}.weight", ("uniform", fan)), (f"{name}.bias", ("uniform", fan))]
        a = self.attn
        hd = a.heads * a.head_dim
        for name in ["query", "key", "value"]:
            order += [(f"attn.{name}.weight", ("uniform", self.d_in)), (f"attn.{name}.bias", ("uniform", self.d_in))]
        if a.focus:
            for name in ["focus_query", "focus_global"]:
                order += [(f"attn.{name}.weight", ("uniform", hd)), (f"attn.{name}.bias", ("uniform", hd))]
            order += [("attn.u_p", ("normal", a.head_dim)), ("attn.u_z", ("normal", a.head_dim))]
        if a.calibrated:
            order += [("attn.calibration.weight", ("uniform", hd)), ("attn.calibration.bias", ("uniform", hd))]
        order += [("attn.out.weight", ("uniform", hd)), ("attn.out.bias", ("uniform", hd)),
                  ("fc.weight", ("uniform", self.d_in)), ("fc.bias", ("uniform", self.d_in))]
        return order

    def forward(self, x):
        a = F.relu(self.bn1a(self.conv1a(x)))
        b = F.relu(self.bn1b(self.conv1b(x)))
        h = torch.cat([a, b], 1)
        h = F.max_pool2d(F.relu(self.bn2(self.conv2(h))), 2)
        h = F.max_pool2d(F.relu(self.bn3(self.conv3(h))), 2)
        h = F.relu(self.bn4(self.conv4(h)))
        h = F.relu(self.bn5(self.conv5(h)))
        n, c, f, t = h.shape
        tokens = h.permute(0, 3, 1, 2).reshape(n, t, c * f)
        z = F.relu(tokens + self.attn(tokens)).mean(1)
        return self.fc(F.dropout(z, self.dropout, self.training))


def segment_starts(frames, hop):
    """SegmentSettings.Starts: every hop while a segment fits, plus one ending at the last frame."""
    if frames <= SEGMENT:
        return [0]
    starts = list(range(0, frames - SEGMENT + 1, hop))
    if starts[-1] + SEGMENT < frames:
        starts.append(frames - SEGMENT)
    return starts


def cut(batch, features):
    """FcaModel.Cut: x [B, 1, F, 63], each (utterance, start) segment, zero past the utterance's end."""
    f = features[batch[0][0]].shape[0]
    x = torch.zeros(len(batch), 1, f, SEGMENT)
    for i, (u, s) in enumerate(batch):
        m = features[u]
        n = min(SEGMENT, m.shape[1] - s)
        x[i, 0, :, :n] = m[:, s:s + n]
    return x
