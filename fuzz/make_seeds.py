#!/usr/bin/env python3
"""Writes the hand-made seed corpora of the fuzz harnesses (fuzz/README.md).

    python3 fuzz/make_seeds.py OUT_DIR     # writes OUT_DIR/reader/* and OUT_DIR/record/*

Every seed is synthetic: records come from tests/gen_synthetic.py (invented values) or are
written here. A reader seed is one header byte (fuzz_reader.cpp says what its bits select)
followed by the input; a record seed is one record's JSON text.
"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import gen_synthetic  # noqa: E402


def header(mode, max_index, chunk_index=0):
    return bytes([mode | (max_index << 2) | (chunk_index << 5)])


def write(out, data):
    os.makedirs(out, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def main():
    out = sys.argv[1]
    records = gen_synthetic.generate(60, seed=7)
    # Small, varied records: the edge cases gen_synthetic plants are spread over the 60.
    picked = [records[i] for i in (0, 7, 13, 21, 34, 55)]
    ndjson = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in picked[:3]).encode()
    compact = json.dumps(picked[3:5], ensure_ascii=True, separators=(",", ":")).encode()
    pretty = json.dumps(picked[5:6], ensure_ascii=False, indent=2).encode()

    reader = os.path.join(out, "reader")
    inputs = [
        ndjson, compact, pretty,
        b"", b"   \n\t\r\n", b"[]", b"[ ]\n", b"\xef\xbb\xbf[{}]", b"\xef\xbb\xbf{}\n{}",
        b"[{\"a\":\"]}\\\"[{\"},\n {\"b\":[1,{\"c\":null}]}\n]\n",
        b"{\"a\":1}\r\n\r\n  {\"b\":2}  \n\n[3]\n\"s\"\n",
        b"[1, -2.5e3, true, false, null, \"x\", [], {}]",
        b"[{\"a\":1} {\"b\":2}]", b"[{\"a\":1},]", b"[{\"a\":1}] x", b"[{\"a\":1}", b"[{\"a\":\"unterminated",
        b"[{\"a\":1]}]", b"[,]", b"[\"\\\\\\\"\",\"\\u00e9\\ud83d\\ude00\"]",
        b"{\"call_date_time\":\"2018-11-05T20:50:00\"}\n{\"call_date_time\":",
        b"[{\"x\":\"" + b"y" * 300 + b"\"}]",
    ]
    for data in inputs:
        for h in (header(0, 7), header(1, 4), header(2, 5, 2)):
            write(reader, h + data)
    write(reader, header(2, 7, 0) + ndjson)
    write(reader, header(2, 3, 3) + compact)
    write(reader, header(0, 1) + b"{}\n\n{\"a\":1}\n")

    record = os.path.join(out, "record")
    for r in records[:12]:
        write(record, json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode())
    base = dict(picked[0])
    variants = [
        {"call_date_time": "2000-02-29T23:59:59.999"},
        {"call_date_time": "1900-02-29T00:00:00"},
        {"call_date_time": "2018-11-04 01:30:00.1"},
        {"call_date_time": "2018-11-04T24:00:00"},
        {"call_date_time": "2018-11-04T01:30:00.1234567890"},
        {"call_date_time": "2018-11-04T01:30:00Z"},
        {"call_date_time": "0000-01-01T00:00:00"},
        {"call_date_time": "9999-12-31T23:59:59.999999999"},
        {"call_date_time": 20181104},
        {"call_date_time": None},
        {"call_date_time": {"date": "2018-11-04"}},
        {"crime_id": 970137002},
        {"crime_id": None},
        {"crime_id": [1]},
        {"crime_id": {"id": 1}},
        {"crime_id": True},
        {"original_crime_type_name": None},
        {"original_crime_type_name": {"nested": [1, 2]}},
        {"original_crime_type_name": "nul\u0000in\u0000side"},
        {"disposition": 3.5e300},
        {"city": "Daly City"},
        {"city": ""},
        {"city": None},
    ]
    for v in variants:
        r = dict(base)
        r.update(v)
        write(record, json.dumps(r, ensure_ascii=True, separators=(",", ":")).encode())
    r = dict(base)
    del r["call_date_time"]
    write(record, json.dumps(r).encode())
    r = dict(base)
    del r["original_crime_type_name"], r["disposition"]
    write(record, json.dumps(r, indent=1).encode())
    for text in (b"", b"null", b"[]", b"{}", b"[{\"call_date_time\":\"2018-11-04T01:30:00\"}]", b"\"s\"", b"1e999",
                 b"{\"a\":1", b"{\"a\":1}}", b"  {\"call_date_time\":\"2018-11-04T01:30:00\",\"city\":\"\"}  ",
                 b"{\"call_date_time\":\"2018-11-04T01:30:00\",\"call_date_time\":\"2018-11-04T01:31:00\",\"city\":\"\"}",
                 b"/* c */ {}", b"{\"a\":\"\xff\xfe\"}", b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"):
        write(record, text)


if __name__ == "__main__":
    main()
