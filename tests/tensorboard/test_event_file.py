#!/usr/bin/python3
"""Independent check of tally's TensorBoard event files with Debian's python3-protobuf:
the Event/Summary messages are built at runtime from a descriptor that mirrors
event.proto (no protoc needed), every record's two masked CRC-32C values are verified,
and the values written by examples/train_loop are compared with its metrics.jsonl.

Usage: test_event_file.py TRAIN_LOOP_BINARY. Exit 77 (skip) without google.protobuf."""
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError:
    print("SKIP: google.protobuf is missing (apt-get install python3-protobuf)")
    sys.exit(77)


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def message_classes():
    f = descriptor_pb2.FileDescriptorProto(name="tally_event.proto", package="tally_test", syntax="proto3")
    value = f.message_type.add(name="Value")
    value.field.add(name="tag", number=1, type=9, label=1)           # string
    value.field.add(name="simple_value", number=2, type=2, label=1)  # float
    summary = f.message_type.add(name="Summary")
    summary.field.add(name="value", number=1, type=11, label=3, type_name=".tally_test.Value")
    event = f.message_type.add(name="Event")
    event.field.add(name="wall_time", number=1, type=1, label=1)     # double
    event.field.add(name="step", number=2, type=3, label=1)          # int64
    event.field.add(name="file_version", number=3, type=9, label=1)  # string
    event.field.add(name="summary", number=5, type=11, label=1, type_name=".tally_test.Summary")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    descriptor = pool.FindMessageTypeByName("tally_test.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def records(path):
    data = open(path, "rb").read()
    pos = 0
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        (length_crc,) = struct.unpack_from("<I", data, pos + 8)
        assert length_crc == masked(data[pos:pos + 8]), "length CRC mismatch"
        payload = data[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack_from("<I", data, pos + 12 + length)
        assert data_crc == masked(payload), "data CRC mismatch"
        yield payload
        pos += 12 + length + 4


def main():
    Event = message_classes()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.argv[1], out], check=True, capture_output=True)
        try:
            files = glob.glob(os.path.join(out, "tensorboard", "events.out.tfevents.*"))
            assert len(files) == 1, files
            events = []
            for payload in records(files[0]):
                e = Event()
                e.ParseFromString(payload)
                events.append(e)
            assert events[0].file_version == "brain.Event:2"
            rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
            assert len(events) == len(rows) + 1
            for e, row in zip(events[1:], rows):
                assert e.step == row["step"]
                logged = {v.tag: v.simple_value for v in e.summary.value}
                assert set(logged) == set(row["metrics"]), (logged, row)
                for tag, value in row["metrics"].items():
                    assert abs(logged[tag] - value) <= 1e-6 * max(1.0, abs(value)), (tag, logged[tag], value)
            passed += 1
        except AssertionError as err:
            failed += 1
            print(f"FAIL: {err}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
