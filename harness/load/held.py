"""Locust imported ahead of its load: `python -m harness.load.held <locust options>`.

Importing locust (gevent, requests, Flask) takes about half a second here. This entry
point does it, then waits for one line on its standard input before it runs locust with
the options it was given, so the harness can start the process while it still waits
for something else (the scrape that opens a window) and release the load the moment
that is done. Anything but the go line, or the end of input (the harness is gone),
exits without a request sent.
"""

from __future__ import annotations

import os
import sys

GO_LINE = "go"
NOT_RELEASED_EXIT = 3


def main() -> None:
    # Imported here, in the locust process only: the harness imports this module for
    # GO_LINE, and locust's gevent monkey-patching must never reach the harness.
    import gevent
    import locust.main

    if sys.stdin.readline().strip() != GO_LINE:
        raise SystemExit(NOT_RELEASED_EXIT)
    # gevent's loop caches the time of its last turn, and locust's --run-time timer is
    # set from it: left at the import, the run would end that much early. (Started on
    # its own, locust ran 0.25-0.27 s short of its run time here for the same reason: a
    # 2 s run sent load for 1.73-1.75 s; released here it sends it for 1.98-2.02 s.)
    gevent.get_hub().loop.update_now()
    # Locust then reads its input as it would when started on its own with nothing on
    # it (its key controls poll standard input): /dev/null.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, sys.stdin.fileno())
    os.close(null)
    sys.argv = ["locust", *sys.argv[1:]]
    locust.main.main()  # type: ignore[no-untyped-call]  # locust leaves it unannotated


if __name__ == "__main__":
    main()
