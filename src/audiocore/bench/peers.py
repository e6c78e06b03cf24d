"""The other implementations the benchmarks compare against, found at run time.

None of them is a dependency of audiocore: each is imported if installed and
left out of the run (and named as missing) if not.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Optional

#: The requirement to install for a missing peer (as ``pip install REQ`` takes it).
INSTALL_HINTS = {
    "audioop": "audioop-lts",  # only missing from Python 3.13 on: the stdlib has it before
    "soxr": "soxr",
    "livekit": "livekit==1.1.21",
    "numpy": "numpy",
}


def install_command(name: str) -> str:
    """A shell command that installs the missing peer ``name``."""
    import shlex

    return f"pip install {shlex.quote(INSTALL_HINTS.get(name, name))}"


def _dist_version(name: str) -> Optional[str]:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@dataclass
class Peers:
    """Imported peer modules (None when missing) and what was found."""

    audioop: Optional[ModuleType] = None
    soxr: Optional[ModuleType] = None
    rtc: Optional[ModuleType] = None
    np: Optional[ModuleType] = None
    #: name -> version text, for every peer that was found.
    found: dict[str, str] = field(default_factory=dict)
    #: name -> why it is missing.
    missing: dict[str, str] = field(default_factory=dict)

    def has(self, *names: str) -> bool:
        return all(n in self.found for n in names)

    def describe(self) -> str:
        parts = [f"{n} {v}" for n, v in self.found.items()]
        line = "peers found: " + (", ".join(parts) if parts else "none")
        absent = [n for n, why in self.missing.items() if why != "skipped"]
        skipped = [n for n, why in self.missing.items() if why == "skipped"]
        if absent:
            line += "; not found: " + ", ".join(f"{n} ({install_command(n)})" for n in absent)
        if skipped:
            line += "; skipped: " + ", ".join(skipped)
        return line

    def as_dict(self) -> dict[str, Any]:
        return {"found": dict(self.found), "missing": dict(self.missing)}


def _try_import(name: str) -> tuple[Optional[ModuleType], str]:
    try:
        with warnings.catch_warnings():
            # The stdlib audioop warns on import from 3.11 on.
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module(name), ""
    except Exception as e:  # a broken install is as good as a missing one here
        return None, f"{type(e).__name__}: {e}"


def find_peers(skip: tuple[str, ...] = ()) -> Peers:
    """Import every peer that is installed, except the names in ``skip``."""
    peers = Peers()
    for name in ("audioop", "soxr", "livekit", "numpy"):
        if name in skip:
            peers.missing[name] = "skipped"
            continue
        module, err = _try_import("livekit.rtc" if name == "livekit" else name)
        if module is None:
            peers.missing[name] = err
            continue
        if name == "audioop":
            peers.audioop = module
            lts = _dist_version("audioop-lts")
            peers.found[name] = (f"audioop-lts {lts}" if lts
                                 else f"stdlib (Python {sys.version.split()[0]})")
        elif name == "soxr":
            peers.soxr = module
            peers.found[name] = str(getattr(module, "__version__", _dist_version("soxr")))
        elif name == "livekit":
            peers.rtc = module
            peers.found[name] = str(_dist_version("livekit") or
                                    getattr(module, "__version__", "?"))
        else:
            peers.np = module
            peers.found[name] = str(module.__version__)
    return peers
