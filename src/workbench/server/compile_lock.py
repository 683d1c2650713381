"""One lock around Python's AST conversions, so viewers' kernels can start together.

CPython 3.11 keeps the recursion-depth counter of its AST conversion (``ast.parse``, and
``compile`` of an AST object) in state shared by every thread. marimo runs each app viewer's
kernel as a thread of the one server process, and each kernel parses and compiles every cell;
when a thread switch lands inside one conversion (a garbage collection running a finalizer is
enough), another thread's check fails with ``SystemError: AST constructor recursion depth
mismatch`` (python/cpython#106905, fixed in 3.12). With 20 viewers starting at once about 5% of
sessions failed that way.

:func:`install` wraps the builtin ``compile`` (which ``ast.parse`` and marimo's compiler call)
so that calls converting an AST to or from Python objects hold one process-wide lock; compiling
source text straight to code, which never builds AST objects, does not wait for it.
"""

from __future__ import annotations

import ast
import builtins
import functools
import sys
import threading
from typing import Any

_lock = threading.RLock()
_original = builtins.compile
#: the flags that make ``compile`` return an AST (Python objects built from the C tree)
_AST_FLAGS = ast.PyCF_ONLY_AST


@functools.wraps(_original)
def _locked_compile(source: Any, *args: Any, **kwargs: Any) -> Any:
    flags = kwargs.get("flags", args[2] if len(args) > 2 else 0)
    if isinstance(source, ast.AST) or (isinstance(flags, int) and flags & _AST_FLAGS):
        with _lock:
            return _original(source, *args, **kwargs)
    return _original(source, *args, **kwargs)


def needed() -> bool:
    """Whether this interpreter has the thread-unsafe AST conversion (before 3.12)."""
    return sys.version_info < (3, 12)


def install() -> bool:
    """Serialise AST conversions in this process (idempotent); whether the lock is in place."""
    if not needed():
        return False
    builtins.compile = _locked_compile
    return True


def uninstall() -> None:
    """Restore the builtin ``compile``."""
    builtins.compile = _original
