"""TensorFlow without its C++ log lines on the console.

TensorFlow's C++ core logs to the process's standard error, not through
Python: at import ("oneDNN custom operations are on", "Could not find cuda
drivers", "All log messages before absl::InitializeLog() ..."), at the first
device query ("failed call to cuInit" on a machine without a GPU) and while
optimising graphs ("remapper failed"). ``TF_CPP_MIN_LOG_LEVEL`` silences the
later ones only if it is set before TensorFlow is imported, and TensorFlow
2.19+ ignores it for the lines written during the import itself
(tensorflow/tensorflow#100442). :func:`install` therefore

* sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless the user set it) before anything
  imports TensorFlow -- ``lsreport/__init__.py`` calls it, so every entry
  point (command line, chapters, tests) gets it first;
* wraps the loader of the ``tensorflow`` package so that, while its
  ``__init__`` runs, file descriptor 2 points into a temporary file; the
  C++ log lines in it are dropped and anything else (a Python warning, an
  error message before a crash of the import) is written back to stderr.

Errors still reach the user as Python exceptions; set
``TF_CPP_MIN_LOG_LEVEL=0`` to see every C++ line again (the import lines are
then passed through too).
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile

__all__ = ["install", "is_cpp_log_line", "LOG_LEVEL"]

#: TensorFlow's C++ minimum log level: 3 keeps FATAL only. ERROR-level lines
#: on a healthy CPU machine are noise (cuInit without a GPU, grappler's
#: remapper); real failures surface as Python exceptions.
LOG_LEVEL = "3"

_CPP_LINE = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\]"  # absl: I0000 00:00:17.9 123 port.cc:153]
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w./-]+:\d+\]"  # TF < 2.16 format
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR)"
)


def is_cpp_log_line(line: str) -> bool:
    """Whether a line of standard error is one of TensorFlow's C++ log lines."""
    return bool(_CPP_LINE.match(line))


#: Python's own lines on stderr (a warning, a traceback) end a C++ message.
_PYTHON_LINE = re.compile(r"^(?:Traceback \(most recent call last\)|\S.*:\d+: \w*(?:Warning|Error)\b)")


def _without_cpp_lines(text: str) -> list[str]:
    """The lines of ``text`` that are not C++ log lines or their continuation lines."""
    keep, in_cpp = [], False
    for line in text.splitlines(keepends=True):
        if is_cpp_log_line(line):
            in_cpp = True
        elif in_cpp and not _PYTHON_LINE.match(line):
            continue  # the rest of a multi-line C++ message ("To enable the following ...")
        else:
            in_cpp = False
            keep.append(line)
    return keep


@contextlib.contextmanager
def _stderr_filtered():
    """Point fd 2 at a temporary file; afterwards replay what is not a C++ log line."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
            keep = _without_cpp_lines(text)
            if keep:
                sys.stderr.write("".join(keep))
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """The real loader of ``tensorflow``, run with fd 2 filtered."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        if os.environ.get("TF_CPP_MIN_LOG_LEVEL", LOG_LEVEL) == "0":
            return self._loader.exec_module(module)
        with _stderr_filtered():
            self._loader.exec_module(module)

    def __getattr__(self, name):  # resource readers, get_data, ... of the real loader
        return getattr(self._loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` like the other finders do, then wraps its loader (once)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)  # one import; after it the module is in sys.modules
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Set the C++ log level and filter the lines of TensorFlow's import.

    Idempotent; does nothing to the import when TensorFlow is already imported.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", LOG_LEVEL)
    if "tensorflow" in sys.modules or any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietFinder())
