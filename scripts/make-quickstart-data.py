#!/usr/bin/env python3
"""Writes the Fashion-MNIST subset bundled for `tandem quickstart`.

Takes the first 500 training and the first 100 test images of each class (5000 and 1000 in all, kept in their
original order) from the full Fashion-MNIST IDX files and writes them, gzipped and byte-for-byte reproducible, to
train/src/main/resources/dev/tandem/train/quickstart/ with the licence notice.

    scripts/make-quickstart-data.py [SOURCE_DIR]    # default /usr/share/datasets/fashion-mnist
                                                    # (Debian: apt install dataset-fashion-mnist)
"""
import gzip
import hashlib
import os
import struct
import sys

PER_CLASS = {"train": 500, "t10k": 100}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "train/src/main/resources/dev/tandem/train/quickstart")

LICENSE = """Fashion-MNIST subset for `tandem quickstart`
============================================

The files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
t10k-labels-idx1-ubyte.gz in this folder are a subset of Fashion-MNIST
(https://github.com/zalandoresearch/fashion-mnist): the first 500 training images and the first 100 test images
of each of the 10 classes (5000 and 1000 images in all), in their original order, with their labels. They were
taken from the full dataset as the Debian package dataset-fashion-mnist installs it
(/usr/share/datasets/fashion-mnist) by scripts/make-quickstart-data.py in the Tandem repository.

SHA-256 of the source files:
{sources}
Fashion-MNIST is distributed under the MIT License:

The MIT License (MIT)

Copyright © 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation
the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and
to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of
the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO
THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
IN THE SOFTWARE.
"""


def read(path, rank):
    with open(path, "rb") as f:
        raw = f.read()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    magic, = struct.unpack(">I", data[:4])
    if magic != 0x800 + rank:
        sys.exit(f"{path}: not an IDX file of rank {rank} (magic {magic:#x})")
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    body = data[4 + 4 * rank:]
    item = 1
    for d in dims[1:]:
        item *= d
    if len(body) != dims[0] * item:
        sys.exit(f"{path}: {len(body)} data bytes, header says {dims}")
    return dims, body, item, hashlib.sha256(raw).hexdigest()


def write(path, header, body):
    with open(path, "wb") as f:
        # mtime=0 and no file name in the header: the same input gives the same bytes
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=f, mtime=0) as gz:
            gz.write(header + body)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    os.makedirs(OUT, exist_ok=True)
    sources = ""
    for split, per_class in PER_CLASS.items():
        paths = []
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
            base = os.path.join(src, f"{split}-{kind}")
            paths.append(base + ".gz" if os.path.exists(base + ".gz") else base)
        (n, rows, cols), images, size, h1 = read(paths[0], 3)
        (n_labels,), labels, _, h2 = read(paths[1], 1)
        if n != n_labels:
            sys.exit(f"{paths[0]} has {n} images but {paths[1]} has {n_labels} labels")
        taken = {}
        keep = []
        for i, label in enumerate(labels):
            if taken.get(label, 0) < per_class:
                taken[label] = taken.get(label, 0) + 1
                keep.append(i)
        if sorted(taken.values()) != [per_class] * 10:
            sys.exit(f"{paths[1]}: not {per_class} images in each of 10 classes: {taken}")
        write(os.path.join(OUT, f"{split}-images-idx3-ubyte.gz"), struct.pack(">IIII", 0x803, len(keep), rows, cols),
              b"".join(images[i * size:(i + 1) * size] for i in keep))
        write(os.path.join(OUT, f"{split}-labels-idx1-ubyte.gz"), struct.pack(">II", 0x801, len(keep)),
              bytes(labels[i] for i in keep))
        for p, h in zip(paths, (h1, h2)):
            sources += f"  {h}  {os.path.basename(p)}\n"
        print(f"{split}: {len(keep)} of {n} images")
    with open(os.path.join(OUT, "LICENSE-fashion-mnist.txt"), "w") as f:
        f.write(LICENSE.format(sources=sources))
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
