"""Where sampled CPU went: py-spy's raw output (collapsed stacks) summed by function.

    python scripts/py_spy_summary.py py-spy-*.txt [--top 40]

Self is the share of samples in which a function was the innermost frame; total the share
in which it was anywhere on the stack (each function once per sample).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def frame_key(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    short = "/".join(path.split("/")[-2:]) if "site-packages" in path or "/" in path else path
    return f"{match['name']} ({short})"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for name in args.files:
        for line in Path(name).read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack:
                continue
            count = int(count_text)
            frames = [frame_key(f) for f in stack.split(";") if f]
            frames = [
                f for f in frames if not f.startswith("process ") and not f.startswith("thread ")
            ]
            if not frames:
                continue
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                anywhere[frame] += count
    print(f"{total} samples")
    print("self %  function")
    for frame, count in own.most_common(args.top):
        print(f"{100 * count / total:6.1f}  {frame}")
    print("total %  function")
    for frame, count in anywhere.most_common(args.top):
        print(f"{100 * count / total:6.1f}  {frame}")


if __name__ == "__main__":
    main()
