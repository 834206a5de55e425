#!/usr/bin/python3
"""Writes the PyTorch-checkpoint test files of tests/SerEngine.Tests/TestData/torch/.

Run once with /usr/bin/python3 (needs torch and torchvision; CI does not):

    /usr/bin/python3 tests/fixtures-gen/make_torch_checkpoints.py [--full-alexnet /tmp/alexnet.pth]

It writes
  * alexnet_small*.pth: torchvision AlexNet's exact layout and names (features.0/3/6/8/10,
    classifier.1/4/6) built from torch.nn layers with reduced widths (8, 16, 24, 24, 16), in the
    zip format, the legacy (pre-1.6) format, nested as {"state_dict": ...}, and as float16;
  * variants*.pth: dtypes (float64, float16, bfloat16, int64, bool), shared storages, views with
    offsets, transposed and strided (non-contiguous) tensors, nn.Parameter (_rebuild_parameter);
  * *.expected.safetensors: the same values in logical order, float tensors as F32, integer ones as
    I64, written here in the layout `safetensors.torch.save_file` writes (8-byte aligned header
    padded with spaces, tensors sorted by alignment then name; the safetensors package is not
    installable on this machine, so the layout is reproduced by hand);
  * hostile_*: files the reader must refuse without executing anything (forbidden globals through
    GLOBAL and STACK_GLOBAL, __reduce__ objects, truncated or malformed containers, lying sizes).
Nothing here unpickles anything it writes.
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "SerEngine.Tests", "TestData", "torch")
MARKER = "/tmp/serengine-torch-pwned"  # the hostile pickles would create this file if executed
WIDTHS = (8, 16, 24, 24, 16)


def alexnet_like(widths, num_classes=10, hidden=32):
    """torchvision.models.AlexNet's module tree with chosen widths (same Sequential indices)."""
    w0, w1, w2, w3, w4 = widths
    m = nn.Module()
    m.features = nn.Sequential(
        nn.Conv2d(3, w0, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(w0, w1, kernel_size=5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(w1, w2, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(w2, w3, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(w3, w4, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2))
    m.avgpool = nn.AdaptiveAvgPool2d((6, 6))
    m.classifier = nn.Sequential(
        nn.Dropout(p=0.5), nn.Linear(w4 * 6 * 6, hidden), nn.ReLU(inplace=True),
        nn.Dropout(p=0.5), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
        nn.Linear(hidden, num_classes))
    return m


# ---------------------------------------------------------------- safetensors (save_file layout)

ST_DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors):
    """Float tensors as F32, integer/bool ones as I64, in logical (contiguous) order."""
    prepared = {}
    for name, t in tensors.items():
        t = t.detach()
        t = t.to(torch.float32) if t.is_floating_point() else t.to(torch.int64)
        prepared[name] = t.contiguous()
    # safetensors sorts by (alignment desc, name); both dtypes here are 8 or 4 bytes
    order = sorted(prepared.items(), key=lambda kv: (-prepared[kv[0]].element_size(), kv[0]))
    header, blobs, offset = {}, [], 0
    for name, t in order:
        data = t.numpy().tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- hand-built torch zips

class FakeStorage:
    """Stands for a storage in a hand-built pickle: persistent id ('storage', type, key, 'cpu', numel)."""

    def __init__(self, storage_type, key, numel):
        self.storage_type, self.key, self.numel = storage_type, key, numel


class FakeTensor:
    """Pickles as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


def pickle_with_storages(obj, protocol=2):
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=protocol)
    p.persistent_id = lambda o: ("storage", o.storage_type, o.key, "cpu", o.numel) if isinstance(o, FakeStorage) else None
    p.dump(obj)
    return buf.getvalue()


def zwrite(z, name, data):
    """Adds an entry with a fixed timestamp, so regenerating gives the same bytes."""
    z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=z.compression)


def write_torch_zip(path, data_pkl, storages, archive="archive", compress=zipfile.ZIP_STORED, extra=()):
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        zwrite(z, f"{archive}/data.pkl", data_pkl)
        for key, data in storages.items():
            zwrite(z, f"{archive}/data/{key}", data)
        zwrite(z, f"{archive}/version", "3\n")
        for name, data in extra:
            zwrite(z, name, data)


class Evil:
    """A __reduce__ object: unpickling it would run a shell command."""

    def __init__(self, fn=os.system):
        self.fn = fn

    def __reduce__(self):
        return (self.fn, (f"touch {MARKER}",))


# ---------------------------------------------------------------- the files

def out(name):
    return os.path.join(OUT, name)


def small_alexnet():
    torch.manual_seed(7)
    m = alexnet_like(WIDTHS)
    sd = m.state_dict()
    torch.save(sd, out("alexnet_small.pth"))
    torch.save(sd, out("alexnet_small_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"epoch": 3, "arch": "alexnet", "state_dict": sd, "best_acc1": 0.5}, out("alexnet_small_nested.pth"))
    write_safetensors(out("alexnet_small.expected.safetensors"), sd)
    half = collections.OrderedDict((k, v.half()) for k, v in sd.items())
    torch.save(half, out("alexnet_small_half.pth"))
    write_safetensors(out("alexnet_small_half.expected.safetensors"), {k: v.float() for k, v in half.items()})


def variants():
    torch.manual_seed(11)
    base = torch.randn(4, 6)
    lin = nn.Linear(5, 3)
    sd = collections.OrderedDict()
    sd["base"] = base
    sd["row"] = base[2]                      # view with a storage offset (12)
    sd["transposed"] = base.t()              # non-contiguous, strides (1, 6)
    sd["strided"] = base[1:, ::2]            # offset 6, strides (6, 2)
    sd["scalar"] = base[3, 5]                # rank 0, offset 23
    sd["double"] = torch.randn(3, 2, dtype=torch.float64)
    sd["half"] = torch.randn(2, 3).half()
    sd["bfloat16"] = torch.randn(5).bfloat16()
    sd["long"] = torch.tensor([1, -2, 3, 2_000_000_000], dtype=torch.int64)
    sd["num_batches_tracked"] = torch.tensor(42)
    sd["flags"] = torch.tensor([True, False, True])
    sd["empty"] = torch.zeros(0, 3)
    sd["param.weight"] = lin.weight           # nn.Parameter -> _rebuild_parameter
    sd["param.bias"] = lin.bias
    sd["permuted"] = torch.randn(2, 3, 4).permute(2, 0, 1)
    torch.save(sd, out("variants.pth"))
    torch.save(sd, out("variants_legacy.pth"), _use_new_zipfile_serialization=False)
    write_safetensors(out("variants.expected.safetensors"), sd)
    # parameters of a module saved as a plain dict of nn.Parameter
    torch.save(dict(lin.named_parameters()), out("module_params.pth"))


def hostile():
    h = lambda n: out("hostile_" + n)
    # plain pickles (legacy-looking: start with PROTO)
    with open(h("reduce_posix_system.pkl"), "wb") as f:
        f.write(pickle.dumps(Evil(), protocol=2))                     # GLOBAL 'posix system'
    with open(h("stack_global.pkl"), "wb") as f:
        f.write(pickle.dumps(Evil(), protocol=4))                     # STACK_GLOBAL 'posix' 'system'
    with open(h("builtins_eval.pkl"), "wb") as f:
        f.write(pickle.dumps(Evil(eval), protocol=2))                 # GLOBAL '__builtin__ eval'
    with open(h("builtins_eval_proto4.pkl"), "wb") as f:
        f.write(pickle.dumps(Evil(eval), protocol=4))                 # STACK_GLOBAL 'builtins' 'eval'
    # hand-assembled: GLOBAL 'os system' + REDUCE
    cmd = f"touch {MARKER}".encode()
    os_system = b"\x80\x02cos\nsystem\nq\x00X" + struct.pack("<I", len(cmd)) + cmd + b"\x85R."
    with open(h("os_system.pkl"), "wb") as f:
        f.write(os_system)
    # torch zip whose data.pkl is a forbidden global
    write_torch_zip(h("zip_os_system.pth"), os_system, {})
    # a real torch.save of a dict holding a __reduce__ object next to a tensor (zip and legacy)
    torch.save({"w": torch.ones(2), "evil": Evil()}, h("reduce_object.pth"))
    torch.save({"w": torch.ones(2), "evil": Evil()}, h("reduce_object_legacy.pth"), _use_new_zipfile_serialization=False)
    # getattr smuggling: STACK_GLOBAL with a dotted name
    with open(h("getattr.pkl"), "wb") as f:
        f.write(b"\x80\x04\x8c\x0b__builtin__\x94\x8c\x07getattr\x94\x93\x94."
                )
    good = pickle_with_storages(collections.OrderedDict(
        w=FakeTensor(FakeStorage(torch.FloatStorage, "0", 4), 0, (2, 2), (2, 1))))
    four = struct.pack("<4f", 1, 2, 3, 4)
    write_torch_zip(out("handmade_ok.pth"), good, {"0": four})
    # protocol 4 and 5 pickles (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL), a DataParallel prefix
    for proto in (4, 5):
        p = pickle_with_storages(collections.OrderedDict([
            ("module.w", FakeTensor(FakeStorage(torch.FloatStorage, "0", 4), 0, (2, 2), (1, 2))),
            ("module.v", FakeTensor(FakeStorage(torch.FloatStorage, "0", 4), 1, (3,), (1,)))]), protocol=proto)
        write_torch_zip(out(f"handmade_proto{proto}.pth"), p, {"0": four}, archive="m")
    # a tensor with Python attributes: torch._tensor._rebuild_from_type_v2(_rebuild_tensor_v2, torch.Tensor, args, state)
    class FromType:
        def __reduce__(self):
            inner = FakeTensor(FakeStorage(torch.FloatStorage, "0", 4), 0, (4,), (1,)).args
            return (torch._tensor._rebuild_from_type_v2, (torch._utils._rebuild_tensor_v2, torch.Tensor, inner, {"note": "x"}))
    write_torch_zip(out("handmade_from_type.pth"), pickle_with_storages({"w": FromType()}), {"0": four})
    # the layout PyTorch >= 2.1 writes: byteorder and .data/ entries beside data.pkl
    write_torch_zip(out("handmade_torch2_layout.pth"), good, {"0": four},
                    extra=[("archive/byteorder", "little"), ("archive/.data/version", "3\n"), ("archive/.data/serialization_id", "1234")])
    write_torch_zip(h("big_endian.pth"), good, {"0": four[::-1]}, extra=[("archive/byteorder", "big")])
    # truncated pickle inside a zip
    write_torch_zip(h("truncated_pickle.pth"), good[: len(good) // 2], {"0": four})
    # truncated zip (first 60 % of a valid one)
    with open(out("alexnet_small.pth"), "rb") as f:
        whole = f.read()
    with open(h("truncated_zip.pth"), "wb") as f:
        f.write(whole[: len(whole) * 6 // 10])
    # storage key pointing to a missing entry
    write_torch_zip(h("missing_storage.pth"), good, {})
    # storage entry shorter than its declared numel
    write_torch_zip(h("short_storage.pth"), good, {"0": four[:12]})
    # shape/stride reaching past the storage: size (3, 2) stride (2, 1) on 4 elements
    bad_view = pickle_with_storages(collections.OrderedDict(
        w=FakeTensor(FakeStorage(torch.FloatStorage, "0", 4), 0, (3, 2), (2, 1))))
    write_torch_zip(h("view_past_storage.pth"), bad_view, {"0": four})
    # storage offset past the end
    bad_offset = pickle_with_storages(collections.OrderedDict(
        w=FakeTensor(FakeStorage(torch.FloatStorage, "0", 4), 3, (2,), (1,))))
    write_torch_zip(h("offset_past_storage.pth"), bad_offset, {"0": four})
    # storage key with a path trick
    sneaky = pickle_with_storages(collections.OrderedDict(
        w=FakeTensor(FakeStorage(torch.FloatStorage, "../../etc/passwd", 4), 0, (4,), (1,))))
    write_torch_zip(h("storage_key_path.pth"), sneaky, {"0": four})
    # entry names with path tricks
    with zipfile.ZipFile(h("entry_path.pth"), "w") as z:
        zwrite(z, "../archive/data.pkl", good)
        zwrite(z, "../archive/data/0", four)
    # absurd memo index (LONG_BINGET 0x7fffffff) and absurd LONG_BINPUT
    write_torch_zip(h("memo_get.pth"), b"\x80\x02j\xff\xff\xff\x7f.", {})
    write_torch_zip(h("memo_put.pth"), b"\x80\x02Nr\xff\xff\xff\x7f.", {})
    # deep nesting: 100000 MARKs, and 100000 nested empty lists
    write_torch_zip(h("deep_marks.pth"), b"\x80\x02" + b"(" * 100_000 + b".", {})
    # a string length beyond the data
    write_torch_zip(h("long_string.pth"), b"\x80\x02X\xff\xff\xff\x7fabc.", {})
    # zip bomb: data.pkl deflated, 80 MB of zeros
    with zipfile.ZipFile(h("zip_bomb.pth"), "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        zwrite(z, "archive/data.pkl", b"\x00" * (80 << 20))
    # unknown storage type (complex)
    cplx = pickle_with_storages(collections.OrderedDict(
        w=FakeTensor(FakeStorage(torch.ComplexFloatStorage, "0", 2), 0, (2,), (1,))))
    write_torch_zip(h("complex_storage.pth"), cplx, {"0": four})
    # not a state dict: a list of tensors
    torch.save([torch.ones(2)], h("list.pth"))


def full_alexnet(path):
    import torchvision
    torch.save(torchvision.models.alexnet().state_dict(), path)
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.0f} MB)")


def main():
    os.makedirs(OUT, exist_ok=True)
    small_alexnet()
    variants()
    hostile()
    if "--full-alexnet" in sys.argv:
        full_alexnet(sys.argv[sys.argv.index("--full-alexnet") + 1])
    for name in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, name))
        assert size < 1 << 20, f"{name} is {size} bytes"
        print(f"{size:9d}  {name}")


if __name__ == "__main__":
    main()
