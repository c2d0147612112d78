"""Seawall: stops bulk and automated messaging on messaging platforms, from metadata only."""

import hashlib as _hashlib
import os as _os
from pathlib import Path as _Path

__version__ = "0.1.0"


def _compiled_code_cache() -> str:
    """Where numba keeps the compiled hot path.

    numba's own cache checks only the timestamp of the file that defines each function, not
    of the modules it inlines (state layout, signals); keying the directory on the source of
    all of them means a changed layout can never run against stale machine code.
    """
    here = _Path(__file__).parent
    digest = _hashlib.sha256()
    for name in ("kernel.py", "signals.py", "state.py", "windows.py", "models.py", "rules.py",
                 "decisions.py"):
        digest.update((here / name).read_bytes())
    base = _Path(_os.environ.get("XDG_CACHE_HOME") or _Path.home() / ".cache")
    return str(base / "seawall" / "numba" / digest.hexdigest()[:16])


if "NUMBA_CACHE_DIR" not in _os.environ:
    _os.environ["NUMBA_CACHE_DIR"] = _compiled_code_cache()
    import numba.core.config as _numba_config  # noqa: E402  (in case numba was imported first)

    _numba_config.CACHE_DIR = _os.environ["NUMBA_CACHE_DIR"]
