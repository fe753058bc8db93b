"""All drawing. Every function takes a result and ``ax=None`` and returns the axes.

Sub-modules: :mod:`.data`, :mod:`.model`, :mod:`.stats`, :mod:`.generation`,
:mod:`.experiments`. Library code never calls ``plt.show()`` or ``savefig()``.
"""

from importlib import import_module as _imp

__all__: list[str] = []
for _name in ("data", "model", "stats", "generation", "experiments"):
    try:
        _mod = _imp(f".{_name}", __name__)
    except ModuleNotFoundError as _exc:  # a sub-module not written yet
        if _exc.name != f"{__name__}.{_name}":
            raise
        continue
    for _sym in getattr(_mod, "__all__", []):
        globals()[_sym] = getattr(_mod, _sym)
        __all__.append(_sym)
