"""The offline image set: a Debian base made with debootstrap, and the stack's images on it.

For hosts that cannot pull images (and this machine): `build_images` makes the base with
`debootstrap --variant=minbase` and `docker import`, then builds each Dockerfile of
`images/` (and `app/Dockerfile`) FROM it with the legacy builder on the host network.
An image whose tag exists with the same content-hash label is reused: the hash covers
its build context and the base image's id, so a new base rebuilds everything on it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import importlib.metadata
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import Any, Literal

import docker
import docker.errors
from docker.models.images import Image
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from harness.errors import UserError
from harness.paths import REPO_ROOT
from harness.render.bundle import Images, SearchBackend

LOG = logging.getLogger(__name__)
IMAGES_DIR = REPO_ROOT / "images"
HASH_LABEL = "org.chrono-bench.content-hash"
BASE_IMAGE = "chrono-bench/base:bookworm"
OFFLINE_TAG = "offline"
SUITE = "bookworm"
# Config written into the base before import: no recommends, no docs or translations
# (smaller layers, and every layer is a full copy on the vfs storage driver).
BASE_FILES = {
    "etc/apt/apt.conf.d/90chrono-lean": (
        'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
        'Acquire::Languages "none";\n'
    ),
    "etc/dpkg/dpkg.cfg.d/90chrono-nodoc": (
        "path-exclude=/usr/share/doc/*\npath-exclude=/usr/share/man/*\n"
        "path-exclude=/usr/share/info/*\npath-exclude=/usr/share/locale/*\n"
        "path-include=/usr/share/locale/locale.alias\n"
    ),
}
BASE_TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
             "usr/share/locale", "usr/share/info")  # fmt: skip
BASE_CHANGES = ("ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8", 'CMD ["bash"]')
# The app image's context: only what its processes import (no frontend, no harness).
APP_CONTEXT = ("app/Dockerfile", "images/app", "app", "harness/__init__.py", "harness/errors.py",
               "harness/supervision.py",
               "harness/upstream")  # fmt: skip
APP_CONTEXT_EXCLUDE = re.compile(r"(^|/)(__pycache__|node_modules|frontend)(/|$)|\.pyc$")
REQUIREMENTS = "images/app/requirements.txt"
# Wheels of the app's requirements, built here with this machine's pip configuration and
# served to the build on loopback: the image needs no index (nor its TLS certificates).
WHEELS_DIR = REPO_ROOT / ".run" / "images"
# The image's Python (Debian 12's python3): dependencies under markers such as
# `python_full_version < "3.11.3"` are resolved for it, not for the Python building here.
TARGET_PYTHON = {"python_version": "3.11", "python_full_version": "3.11.2"}
REQUIREMENT_NAME = re.compile(r"^([A-Za-z0-9_.-]+)")

Outcome = Literal["built", "reused"]


@dataclass(frozen=True)
class ImageSpec:
    """One image of the offline set: its tag and where its Dockerfile lives."""

    key: str  # the field of harness.render.bundle.Images it fills
    directory: str  # under images/, or "app" for app/Dockerfile

    @property
    def tag(self) -> str:
        return f"chrono-bench/{self.directory.replace('_', '-')}:{OFFLINE_TAG}"


OFFLINE_SPECS = (
    ImageSpec("postgres", "postgres"),
    ImageSpec("redis", "redis"),
    ImageSpec("prometheus", "prometheus"),
    ImageSpec("postgres_exporter", "postgres-exporter"),
    ImageSpec("redis_exporter", "redis-exporter"),
    ImageSpec("app", "app"),
)
# Meilisearch has no Debian package, hence no offline image: its field keeps the official
# name, unused because the offline set runs with search on PostgreSQL.
OFFLINE_IMAGES = Images(**{spec.key: spec.tag for spec in OFFLINE_SPECS})
OFFLINE_SEARCH_BACKEND: SearchBackend = "postgres"


@dataclass(frozen=True)
class BuildReport:
    """What `build_images` did for one image, and how long it took."""

    tag: str
    outcome: Outcome
    seconds: float


def docker_client() -> docker.DockerClient:
    """A client of the engine on this host; a UserError when none answers."""
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except docker.errors.DockerException as error:
        raise UserError(
            "images: no Docker engine answers (start one, e.g. `dockerd --storage-driver=vfs`)"
        ) from error
    return client


def build_images(
    client: docker.DockerClient,
    *,
    progress: Callable[[str], None] = LOG.info,
) -> list[BuildReport]:
    """The base, then every image of the offline set; each reused when unchanged."""
    reports = [ensure_base(client, progress=progress)]
    base_id = client.images.get(BASE_IMAGE).id
    requirements = pinned_requirements()
    for spec in OFFLINE_SPECS:
        files = _context_files(spec, requirements)
        content_hash = _hash(files, base_id)
        reports.append(_ensure(client, spec.tag, content_hash, files, spec, progress))
    _prune_dangling(client)
    return reports


def ensure_base(
    client: docker.DockerClient, *, progress: Callable[[str], None] = LOG.info
) -> BuildReport:
    """The debootstrap base, made and imported unless an image of the same recipe exists."""
    recipe = _hash({name.encode(): text.encode() for name, text in BASE_FILES.items()}, SUITE)
    started = time.monotonic()
    if _label(client, BASE_IMAGE) == recipe:
        return BuildReport(BASE_IMAGE, "reused", time.monotonic() - started)
    for tool in ("debootstrap", "tar", "docker"):
        if shutil.which(tool) is None:
            raise UserError(f"images: '{tool}' is not installed (apt-get install {tool})")
    if os.geteuid() != 0:
        raise UserError("images: debootstrap needs root to make the base image")
    with tempfile.TemporaryDirectory(prefix="chrono-base-") as tmp:
        root = Path(tmp) / "rootfs"
        progress(f"debootstrap --variant=minbase {SUITE} (a few minutes)")
        _run(["debootstrap", "--variant=minbase", SUITE, str(root)], "debootstrap")
        for name, text in BASE_FILES.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        for directory in BASE_TRIM:
            for child in (root / directory).glob("*"):
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                elif child.name != "locale.alias":
                    child.unlink()
        progress(f"importing {BASE_IMAGE}")
        changes = [*BASE_CHANGES, f"LABEL {HASH_LABEL}={recipe}"]
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        command = ["docker", "import", *(f"--change={c}" for c in changes), "-", BASE_IMAGE]
        imported = subprocess.run(command, stdin=tar.stdout, capture_output=True, text=True)
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise UserError(f"images: docker import failed: {imported.stderr.strip()}")
    return BuildReport(BASE_IMAGE, "built", time.monotonic() - started)


def pinned_requirements() -> bytes:
    """images/app/requirements.txt with each package pinned to the version installed here,
    so the image runs what the tests ran."""
    lines = []
    for line in (REPO_ROOT / REQUIREMENTS).read_text().splitlines():
        match = REQUIREMENT_NAME.match(line.strip())
        if line.startswith("#") or match is None:
            continue
        name = match.group(1)
        try:
            lines.append(f"{line.strip()}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            lines.append(line.strip())
    return ("\n".join(lines) + "\n").encode()


def _ensure(
    client: docker.DockerClient,
    tag: str,
    content_hash: str,
    files: dict[bytes, bytes],
    spec: ImageSpec,
    progress: Callable[[str], None],
) -> BuildReport:
    started = time.monotonic()
    if _label(client, tag) == content_hash:
        return BuildReport(tag, "reused", time.monotonic() - started)
    progress(f"building {tag}")
    dockerfile = "app/Dockerfile" if spec.directory == "app" else "Dockerfile"
    # the Dockerfiles turn CONTENT_HASH into the HASH_LABEL label
    buildargs = {"BASE": BASE_IMAGE, "CONTENT_HASH": content_hash}
    with contextlib.ExitStack() as stack:
        if spec.directory == "app":
            progress("building the app's wheels")
            wheels = wheelhouse(files[REQUIREMENTS.encode()])
            buildargs["WHEELS_URL"] = stack.enter_context(_serve(wheels))
        stream = client.api.build(
            fileobj=_tar(files),
            custom_context=True,
            dockerfile=dockerfile,
            tag=tag,
            buildargs=buildargs,
            network_mode="host",
            rm=True,
            forcerm=True,
            decode=True,
        )
        _follow(stream, tag, progress)
    return BuildReport(tag, "built", time.monotonic() - started)


def wheelhouse(requirements: bytes) -> Path:
    """Wheels of `requirements` and their dependencies, built once per requirements text."""
    directory = WHEELS_DIR / f"wheels-{hashlib.sha256(requirements).hexdigest()[:16]}"
    if directory.is_dir():
        return directory
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    (partial / "requirements.txt").write_bytes(requirements)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(partial),
               "--requirement", str(partial / "requirements.txt")]  # fmt: skip
    _run(command, "pip wheel (the app's dependencies)")
    while missing := _missing_for_target(partial):
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                   "--dest", str(partial), *missing]  # fmt: skip
        _run(command, "pip download (dependencies of the image's Python)")
    partial.rename(directory)
    return directory


def _missing_for_target(directory: Path) -> list[str]:
    """Requirements of the wheels in `directory` that the image's Python needs and the
    directory lacks (the wheels were resolved for this Python)."""
    present = {parse_wheel_filename(wheel.name)[0] for wheel in directory.glob("*.whl")}
    missing: set[str] = set()
    for wheel in directory.glob("*.whl"):
        for text in _requires_dist(wheel):
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is not None and not marker.evaluate({**TARGET_PYTHON, "extra": ""}):
                continue
            if canonicalize_name(requirement.name) not in present:
                missing.add(str(requirement).split(";")[0].strip())
    return sorted(missing)


def _requires_dist(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = HeaderParser().parsestr(archive.read(name).decode())
    return metadata.get_all("Requires-Dist") or []


@contextlib.contextmanager
def _serve(directory: Path) -> Iterator[str]:
    """`directory` over HTTP on loopback (the build runs on the host network)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("wheels: " + format, *args)


def _follow(stream: Iterator[dict[str, Any]], tag: str, progress: Callable[[str], None]) -> None:
    """Log a build's output; its steps go to `progress`, a failure is a UserError."""
    tail: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            detail = "".join(tail[-5:]).strip()
            raise UserError(f"images: building {tag} failed: {chunk['error'].strip()} {detail}")
        text = str(chunk.get("stream", ""))
        if text.strip():
            tail.append(text)
            LOG.debug("%s: %s", tag, text.rstrip())
            if text.startswith("Step "):
                progress(f"{tag}: {text.strip()[:100]}")


def _context_files(spec: ImageSpec, requirements: bytes) -> dict[bytes, bytes]:
    """The build context as {relative path: content}, the same bytes that are hashed."""
    if spec.directory != "app":
        directory = IMAGES_DIR / spec.directory
        return {
            str(path.relative_to(directory)).encode(): path.read_bytes()
            for path in sorted(directory.rglob("*"))
            if path.is_file()
        }
    files: dict[bytes, bytes] = {}
    for entry in APP_CONTEXT:
        root = REPO_ROOT / entry
        paths = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in paths:
            relative = str(path.relative_to(REPO_ROOT))
            if path.is_file() and not APP_CONTEXT_EXCLUDE.search(relative):
                files[relative.encode()] = path.read_bytes()
    files[REQUIREMENTS.encode()] = requirements
    return files


def _tar(files: dict[bytes, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name.decode())
            info.size = len(content)
            # scripts keep their execute bit; nothing else needs one
            info.mode = 0o755 if content.startswith(b"#!") else 0o644
            tar.addfile(info, io.BytesIO(content))
    buffer.seek(0)
    return buffer


def _hash(files: dict[bytes, bytes], *extra: str) -> str:
    digest = hashlib.sha256()
    for name, content in sorted(files.items()):
        digest.update(name + b"\0" + hashlib.sha256(content).digest())
    for item in extra:
        digest.update(item.encode())
    return digest.hexdigest()[:32]


def _label(client: docker.DockerClient, tag: str) -> str | None:
    """The content-hash label of the image `tag`, or None when there is no such image."""
    try:
        image: Image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    labels = image.labels or {}
    return labels.get(HASH_LABEL)


def _prune_dangling(client: docker.DockerClient) -> None:
    """Drop the previous builds of retagged images (each is a full copy on vfs)."""
    client.images.prune(filters={"dangling": True, "label": HASH_LABEL})


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise UserError(f"images: {what} failed: {' / '.join(tail)}")
