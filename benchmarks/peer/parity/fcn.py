"""AttentionFcn (MODELS.md, A; models/SerEngine.Models/AttentionFcn.cs) in PyTorch.

An AlexNet-shaped encoder over x [N, 1, F, T] (zero-padded to the batch's longest utterance),
attention pooling over every (f, t) position of its last map, dropout, a linear classifier.
With valid frame counts, the columns past each item's valid length are zeroed after every conv
and pool, so an item's output does not depend on its batch; attention weights are a softmax over
valid positions only. Parameter names follow MODELS.md: features.{0,3,6,8,10}, attention.proj,
attention.context, fc; with batchnorm also norm.{0,3,6,8,10} (a masked BatchNorm2d per conv).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

CONVS = [0, 3, 6, 8, 10]


def conv_out(n, k, s, p):
    """Conv2d.OutputSize (dilation 1); also the pool's size (floor mode, no padding)."""
    return (n + 2 * p - k) // s + 1


class MaskedBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics use only the valid columns (t < valid[i]) of each item.

    Biased variance normalises; running_var gets the unbiased one (n/(n−1)), as PyTorch. In eval
    mode (or without valid lengths) it is the plain BatchNorm2d.
    """

    def forward(self, x, valid=None):
        if not self.training or valid is None:
            return super().forward(x)
        n, c, f, t = x.shape
        mask = (torch.arange(t, device=x.device)[None, :] < valid[:, None]).to(x.dtype).view(n, 1, 1, t)
        count = mask.sum() * f
        mean = (x * mask).sum(dim=(0, 2, 3)) / count
        centred = x - mean.view(1, c, 1, 1)
        var = ((centred * mask) ** 2).sum(dim=(0, 2, 3)) / count
        with torch.no_grad():
            m = self.momentum
            self.running_mean.mul_(1 - m).add_(m * mean)
            self.running_var.mul_(1 - m).add_(m * var * count / max(count.item() - 1, 1))
            self.num_batches_tracked += 1
        y = centred / torch.sqrt(var + self.eps).view(1, c, 1, 1)
        return y * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)


class AttentionPool(nn.Module):
    """e_l = λ·uᵀ tanh(W a_l + b); α = softmax over valid l; c = Σ α_l a_l."""

    def __init__(self, dim, lam):
        super().__init__()
        self.lam = lam
        self.proj = nn.Linear(dim, dim)
        self.context = nn.Linear(dim, 1, bias=False)

    def forward(self, a, mask=None):
        energy = self.context(torch.tanh(self.proj(a))).squeeze(-1) * self.lam  # [N, L]
        if mask is not None:
            energy = energy.masked_fill(~mask, float("-inf"))
        alpha = torch.softmax(energy, dim=-1)
        return torch.bmm(alpha.unsqueeze(1), a).squeeze(1), alpha


class AttentionFcn(nn.Module):
    def __init__(self, classes, widths=(64, 192, 384, 256, 256), lam=0.3, dropout=0.5, batchnorm=False):
        super().__init__()
        w = list(widths)
        self.widths, self.lam, self.dropout, self.batchnorm = w, lam, dropout, batchnorm
        self.features = nn.Sequential(
            nn.Conv2d(1, w[0], 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(w[0], w[1], 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(w[1], w[2], 3, padding=1), nn.ReLU(),
            nn.Conv2d(w[2], w[3], 3, padding=1), nn.ReLU(),
            nn.Conv2d(w[3], w[4], 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))
        if batchnorm:
            self.norm = nn.ModuleDict({str(i): MaskedBatchNorm2d(w[k], eps=1e-5, momentum=0.1) for k, i in enumerate(CONVS)})
        self.attention = AttentionPool(w[4], lam)
        self.fc = nn.Linear(w[4], classes)

    def init_order(self):
        """(name, fan_in or None for normal) in the order ours draws them from its generator."""
        order = []
        for i in CONVS:
            conv = self.features[i]
            fan = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
            order += [(f"features.{i}.weight", fan), (f"features.{i}.bias", fan)]
        d = self.widths[4]
        order += [("attention.proj.weight", d), ("attention.proj.bias", d), ("attention.context.weight", d),
                  ("fc.weight", d), ("fc.bias", d)]
        return [(n, ("uniform", f)) for n, f in order]

    @staticmethod
    def min_frames():
        """AttentionFcn.MinimumLength."""
        n = 1
        while encoded_length(n) < 1:
            n += 1
        return n

    def forward(self, x, valid=None):
        """x [N, 1, F, T], valid (LongTensor [N] frames or None) -> logits [N, classes], alpha [N, L]."""
        for i, layer in enumerate(self.features):
            if isinstance(layer, nn.Conv2d):
                x = layer(x)
                if valid is not None:
                    valid = conv_out(valid, layer.kernel_size[1], layer.stride[1], layer.padding[1])
                if self.batchnorm:
                    x = self.norm[str(i)](x, valid)
                x = F.relu(x)
                x = _zero_beyond(x, valid)
            elif isinstance(layer, nn.MaxPool2d):
                x = layer(x)
                if valid is not None:
                    valid = conv_out(valid, layer.kernel_size, layer.stride, layer.padding)
                x = _zero_beyond(x, valid)
        n, c, fo, to = x.shape
        a = x.reshape(n, c, fo * to).transpose(1, 2)  # [N, L, C], l = f·T' + t
        mask = None
        if valid is not None:
            mask = (torch.arange(to, device=x.device)[None, :] < valid[:, None]).unsqueeze(1).expand(n, fo, to).reshape(n, fo * to)
        context, alpha = self.attention(a, mask)
        return self.fc(F.dropout(context, self.dropout, self.training)), alpha


def _zero_beyond(x, valid):
    if valid is None or bool((valid >= x.shape[3]).all()):
        return x
    keep = (torch.arange(x.shape[3], device=x.device)[None, :] < valid[:, None]).to(x.dtype)
    return x * keep.view(x.shape[0], 1, 1, x.shape[3])


def encoded_length(n):
    for k, s, p in [(11, 4, 2), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 2, 0)]:
        if n + 2 * p < k:
            return 0
        n = conv_out(n, k, s, p)
    return n


def pad_batch(items):
    """FcnModel.Pad: x [B, 1, F, T_max] zero-padded, valid frames [B]."""
    t = max(m.shape[1] for m in items)
    x = torch.zeros(len(items), 1, items[0].shape[0], t)
    for i, m in enumerate(items):
        x[i, 0, :, :m.shape[1]] = m
    return x, torch.tensor([m.shape[1] for m in items], dtype=torch.long)
