"""The browser's LiveKit SDK: a pinned ``livekit-client`` from the npm registry.

The library is not part of this distribution. ``fetch_client()`` asks ``npm`` for the
pinned package tarball, checks it against the registry's published integrity hash,
and keeps only the UMD bundle in a cache directory the token server serves from.
A production deployment can serve the same file from anywhere (``--client-dir``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Optional

CLIENT_PACKAGE = "livekit-client"
CLIENT_VERSION = "2.23.0"
# `npm view livekit-client@2.23.0 dist.integrity`: the hash of the tarball itself.
CLIENT_INTEGRITY = ("sha512-j9Kg86nJjBjNFUD+ukp2jwMCGa0k+YD5gU//RzAM+ZY3pbG631QCte7fQjwqW"
                    "MmtBzhDJL9nKYuOLMv/9IbAxg==")
BUNDLE = "livekit-client.umd.js"
_MEMBER = f"package/dist/{BUNDLE}"


class ClientLibraryError(RuntimeError):
    """The browser SDK could not be fetched or failed its integrity check."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "livekit-plugins-elevenlabs-bridge" / f"{CLIENT_PACKAGE}-{CLIENT_VERSION}"


def cached_bundle(directory: Optional[Path] = None) -> Optional[Path]:
    """The bundle's path if it is in ``directory`` (default: the cache), else ``None``."""
    path = (directory or default_cache_dir()) / BUNDLE
    return path if path.is_file() else None


def _check_integrity(tarball: bytes) -> None:
    algorithm, _, expected = CLIENT_INTEGRITY.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode()
    if digest != expected:
        raise ClientLibraryError(
            f"{CLIENT_PACKAGE}@{CLIENT_VERSION}: tarball integrity mismatch "
            f"(expected {algorithm}-{expected[:16]}..., got {algorithm}-{digest[:16]}...)")


def extract_bundle(tarball: bytes, directory: Path) -> Path:
    """Checks ``tarball`` and writes its UMD bundle into ``directory``."""
    _check_integrity(tarball)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        member = tar.extractfile(_MEMBER)
        if member is None:
            raise ClientLibraryError(f"{CLIENT_PACKAGE} tarball has no {_MEMBER}")
        data = member.read()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / BUNDLE
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)  # atomic: a concurrent server never serves half a file
    return target


def fetch_client(directory: Optional[Path] = None, *, npm: Optional[str] = None,
                 timeout: float = 120.0) -> Path:
    """The bundle in ``directory`` (default: the cache), fetched with npm if missing."""
    directory = directory or default_cache_dir()
    found = cached_bundle(directory)
    if found is not None:
        return found
    npm = npm or shutil.which("npm")
    if npm is None:
        raise ClientLibraryError(
            f"{BUNDLE} is not in {directory} and npm is not installed: install npm "
            f"(Debian: apt-get install npm), or place {CLIENT_PACKAGE}@{CLIENT_VERSION}'s "
            f"dist/{BUNDLE} there yourself")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            done = subprocess.run(
                [npm, "pack", f"{CLIENT_PACKAGE}@{CLIENT_VERSION}", "--silent",
                 "--pack-destination", tmp],
                capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise ClientLibraryError(f"npm pack {CLIENT_PACKAGE} timed out") from e
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            raise ClientLibraryError(
                f"npm pack {CLIENT_PACKAGE}@{CLIENT_VERSION} failed: "
                f"{(done.stderr or done.stdout).strip()[-500:]}")
        return extract_bundle(tarballs[0].read_bytes(), directory)
