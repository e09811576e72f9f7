# An independent reader of NetGen's TensorBoard event files, with Debian's python3-protobuf: checks every TFRecord's
# length and data CRCs (CRC-32C, masked as TensorFlow's record_writer does, computed here bit by bit) and decodes each
# Event with descriptors written from TensorFlow's event.proto, summary.proto, graph.proto and node_def.proto (the
# fields NetGen writes). Prints what it read; events.fixture.txt is its output for events.fixture, which
# TensorBoardTests checks NetGen still writes byte for byte:
#   /usr/bin/python3 read_events.py events.fixture > events.fixture.txt
import struct, sys
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF

def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF

F = descriptor_pb2.FieldDescriptorProto
file = descriptor_pb2.FileDescriptorProto(name="events.proto", package="tensorflow", syntax="proto3")
def message(name, fields):
    m = file.message_type.add(name=name)
    for number, fname, ftype, label, type_name in fields:
        f = m.field.add(name=fname, number=number, type=ftype, label=label)
        if type_name: f.type_name = type_name
    return m
OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
message("HistogramProto", [(1, "min", F.TYPE_DOUBLE, OPT, None), (2, "max", F.TYPE_DOUBLE, OPT, None),
    (3, "num", F.TYPE_DOUBLE, OPT, None), (4, "sum", F.TYPE_DOUBLE, OPT, None), (5, "sum_squares", F.TYPE_DOUBLE, OPT, None),
    (6, "bucket_limit", F.TYPE_DOUBLE, REP, None), (7, "bucket", F.TYPE_DOUBLE, REP, None)])
message("SummaryValue", [(1, "tag", F.TYPE_STRING, OPT, None), (2, "simple_value", F.TYPE_FLOAT, OPT, None),
    (5, "histo", F.TYPE_MESSAGE, OPT, ".tensorflow.HistogramProto")])
message("Summary", [(1, "value", F.TYPE_MESSAGE, REP, ".tensorflow.SummaryValue")])
message("NodeDef", [(1, "name", F.TYPE_STRING, OPT, None), (2, "op", F.TYPE_STRING, OPT, None), (3, "input", F.TYPE_STRING, REP, None)])
message("GraphDef", [(1, "node", F.TYPE_MESSAGE, REP, ".tensorflow.NodeDef")])
message("Event", [(1, "wall_time", F.TYPE_DOUBLE, OPT, None), (2, "step", F.TYPE_INT64, OPT, None),
    (3, "file_version", F.TYPE_STRING, OPT, None), (4, "graph_def", F.TYPE_BYTES, OPT, None),
    (5, "summary", F.TYPE_MESSAGE, OPT, ".tensorflow.Summary")])
pool = descriptor_pool.DescriptorPool()
pool.Add(file)
def cls(name):
    d = pool.FindMessageTypeByName("tensorflow." + name)
    return message_factory.GetMessageClass(d) if hasattr(message_factory, "GetMessageClass") else message_factory.MessageFactory(pool).GetPrototype(d)
Event, GraphDef = cls("Event"), cls("GraphDef")

data = open(sys.argv[1], "rb").read()
at, records = 0, 0
while at < len(data):
    header = data[at:at + 8]
    (length,) = struct.unpack("<Q", header)
    (length_crc,) = struct.unpack("<I", data[at + 8:at + 12])
    assert length_crc == masked(header), f"record {records}: bad length CRC"
    body = data[at + 12:at + 12 + length]
    (body_crc,) = struct.unpack("<I", data[at + 12 + length:at + 16 + length])
    assert body_crc == masked(body), f"record {records}: bad data CRC"
    at += 16 + length
    e = Event()
    e.ParseFromString(body)
    line = f"record {records}: wall_time {e.wall_time!r} step {e.step}"
    if e.file_version: line += f" file_version {e.file_version}"
    if e.graph_def:
        g = GraphDef()
        g.ParseFromString(e.graph_def)
        line += " graph " + "; ".join(f"{n.name} {n.op} <- {','.join(n.input)}" for n in g.node)
    for v in e.summary.value:
        if v.HasField("histo"):
            h = v.histo
            line += f" histo {v.tag} min {h.min!r} max {h.max!r} num {h.num!r} sum {h.sum!r} sum_squares {h.sum_squares!r}"
            line += f" limits {[round(x, 6) for x in h.bucket_limit]} counts {list(h.bucket)}"
        else:
            line += f" scalar {v.tag} {v.simple_value!r}"
    print(line)
    records += 1
print(f"{records} records, every length and data CRC correct")
