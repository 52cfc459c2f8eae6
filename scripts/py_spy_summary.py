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

# Where a sample's CPU belongs: the first group one of whose markers is in its stack, the
# innermost frames first (py-spy splits some coroutine stacks from their roots, so a
# group is told by what is on the stack, not by its root).
GROUPS = (
    ("send: permessage-deflate", ("PerMessageDeflate.encode",)),
    ("send: json.dumps per connection", ("dumps (json",)),
    ("send: timeout (wait_for)", ("wait_for (asyncio", "ensure_future", "_release_waiter")),
    ("send: websockets framing, uvicorn, socket write", ("WebSocketsSansIOProtocol.send",)),
    ("send: Starlette's send and ASGI wrappers", ("WebSocket.send", "wrapped_app")),
    ("relay: json.loads", ("loads (json",)),
    ("relay: manager.publish (rate limit, enqueue)", ("Manager.publish",)),
    # asyncio.timeout is redis-py's alone here (get_message's timeout)
    (
        "relay: Redis read (redis-py)",
        ("redis/", "PubSub.", "ProgressRelay", "StreamReader", "Timeout.", "timeout (asyncio"),
    ),
    ("sender task: queue get, timer, loop", ("_drain", "Queue.", "_expire")),
    ("event loop (uvloop: epoll, callbacks)", ("Runner.run",)),
)
FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def frame_key(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    short = "/".join(path.split("/")[-2:]) if "site-packages" in path or "/" in path else path
    return f"{match['name']} ({short})"


def group_of(stack: str) -> str:
    frames = stack.split(";")
    for name, markers in GROUPS:
        if any(marker in frame for frame in reversed(frames) for marker in markers):
            return name
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("files", nargs="+", help="py-spy --format raw outputs")
    parser.add_argument("--top", type=int, default=40, help="functions listed (default: 40)")
    args = parser.parse_args()
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    grouped: Counter[str] = Counter()
    total = 0
    for name in args.files:
        try:
            lines = Path(name).read_text().splitlines()
        except OSError as error:
            parser.exit(2, f"py_spy_summary: cannot read {name}: {error.strerror}\n")
        for line in lines:
            stack, _, count_text = line.rpartition(" ")
            if not stack:
                continue
            if not count_text.isdigit():
                parser.exit(2, f"py_spy_summary: {name}: not py-spy's raw format: {line[:60]}\n")
            count = int(count_text)
            frames = [frame_key(f) for f in stack.split(";") if f]
            frames = [
                f for f in frames if not f.startswith("process ") and not f.startswith("thread ")
            ]
            if not frames:
                continue
            total += count
            own[frames[-1]] += count
            grouped[group_of(stack)] += count
            for frame in set(frames):
                anywhere[frame] += count
    if total == 0:
        parser.exit(2, "py_spy_summary: no samples in " + ", ".join(args.files) + "\n")
    print(f"{total} samples")
    print("group %  group")
    for group, count in grouped.most_common():
        print(f"{100 * count / total:6.1f}  {group}")
    print("self %  function")
    for frame, count in own.most_common(args.top):
        print(f"{100 * count / total:6.1f}  {frame}")
    print("total %  function")
    for frame, count in anywhere.most_common(args.top):
        print(f"{100 * count / total:6.1f}  {frame}")


if __name__ == "__main__":
    main()
