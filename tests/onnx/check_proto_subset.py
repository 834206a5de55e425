#!/usr/bin/env python3
"""Checks that models/SerEngine.Onnx/Proto/onnx_subset.proto is a wire-compatible subset of ONNX.

Compiles our .proto with the protoc that Grpc.Tools ships (NuGet cache) into a descriptor set and
compares every message, field (number, label, type, message/enum type, packed) and enum value with
the descriptors of the installed `onnx` Python package. Exit code 0 = compatible.

    /usr/bin/python3 tests/onnx/check_proto_subset.py [--protoc PATH]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import onnx
from google.protobuf import descriptor_pb2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_DIR = os.path.join(ROOT, "models", "SerEngine.Onnx", "Proto")


def find_protoc():
    hits = sorted(glob.glob(os.path.expanduser("~/.nuget/packages/grpc.tools/*/tools/linux_x64/protoc")))
    if not hits:
        sys.exit("no protoc found in the NuGet cache: build models/SerEngine.Onnx first, or pass --protoc")
    return hits[-1]


def ours(protoc):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.pb")
        subprocess.run([protoc, f"-I{PROTO_DIR}", f"--descriptor_set_out={out}", "onnx_subset.proto"], check=True)
        fds = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            fds.ParseFromString(f.read())
    return fds.file[0]


def theirs(name):
    """The onnx package's DescriptorProto of message `name` (dotted for nested)."""
    parts = name.split(".")
    d = getattr(onnx, parts[0]).DESCRIPTOR
    for p in parts[1:]:
        d = d.nested_types_by_name[p]
    proto = descriptor_pb2.DescriptorProto()
    d.CopyToProto(proto)
    return proto, d


def compare_message(msg, prefix, errors, counts):
    name = prefix + msg.name
    ref, ref_desc = theirs(name)
    ref_fields = {f.name: f for f in ref.field}
    for f in msg.field:
        counts["fields"] += 1
        r = ref_fields.get(f.name)
        if r is None:
            errors.append(f"{name}.{f.name}: not in onnx")
            continue
        for attr in ("number", "label", "type"):
            if getattr(f, attr) != getattr(r, attr):
                errors.append(f"{name}.{f.name}: {attr} {getattr(f, attr)} != onnx {getattr(r, attr)}")
        if f.type_name.split(".")[-1] != r.type_name.split(".")[-1]:
            errors.append(f"{name}.{f.name}: type {f.type_name} != onnx {r.type_name}")
        if f.options.packed != r.options.packed:
            errors.append(f"{name}.{f.name}: packed {f.options.packed} != onnx {r.options.packed}")
        if f.HasField("oneof_index") != r.HasField("oneof_index"):
            errors.append(f"{name}.{f.name}: oneof membership differs from onnx")
    for e in msg.enum_type:
        ref_enum = ref_desc.enum_types_by_name[e.name]
        for v in e.value:
            counts["enum values"] += 1
            rv = ref_enum.values_by_name.get(v.name)
            if rv is None or rv.number != v.number:
                errors.append(f"{name}.{e.name}.{v.name} = {v.number}: onnx has {None if rv is None else rv.number}")
    counts["messages"] += 1
    for nested in msg.nested_type:
        compare_message(nested, name + ".", errors, counts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--protoc", default=None)
    args = ap.parse_args()
    fd = ours(args.protoc or find_protoc())
    if fd.package != "onnx":
        sys.exit(f"package is '{fd.package}', ONNX's is 'onnx'")
    if fd.syntax not in ("", "proto2"):
        sys.exit(f"syntax is {fd.syntax}; ONNX's onnx.proto is proto2")
    errors, counts = [], {"messages": 0, "fields": 0, "enum values": 0}
    for msg in fd.message_type:
        compare_message(msg, "", errors, counts)
    print(f"onnx {onnx.__version__}: compared {counts['messages']} messages, {counts['fields']} fields, "
          f"{counts['enum values']} enum values of onnx_subset.proto")
    for e in errors:
        print("MISMATCH", e)
    print("wire-compatible subset: " + ("NO" if errors else "yes"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
