#!/bin/sh
# Every process of the app image starts here: prometheus_client's multiprocess directory
# must exist before the workers start and hold nothing of a previous start.
set -eu
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
exec "$@"
