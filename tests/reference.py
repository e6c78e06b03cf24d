"""Reference implementations the tests compare against.

``audioop`` is the stdlib module on 3.10-3.12 and ``audioop-lts`` on 3.13+; both
are the same C code, so either is the ground truth for bit-exactness.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # noqa: F401  (stdlib <= 3.12, audioop-lts >= 3.13)

__all__ = ["audioop"]
