"""The book's figures, one module per topic, all on one style (:mod:`~normcode.plotting.style`).

:mod:`~normcode.plotting.style` gives each technique one colour, one line style and
one name in every chapter. Every other module draws the figures of one topic
(:mod:`~normcode.plotting.cubes` the N × C × H·W cubes of the preface,
:mod:`~normcode.plotting.whitening` chapter 1, :mod:`~normcode.plotting.ics`
chapter 2, ...); each module's docstring says which chapter uses it. Every label
goes through the message catalogue (:func:`normcode.book._`), so one code cell
draws the figure in either edition's language.

Every module of this folder is imported here and its public names (its
``__all__``) are available from the package, so ``from normcode.plotting import
plot_loss_curves`` works, and adding a module needs no edit to this file.
"""
from importlib import import_module
from pkgutil import iter_modules

__all__: list[str] = []

for _info in sorted(iter_modules(__path__), key=lambda info: info.name):
    _module = import_module(f"{__name__}.{_info.name}")
    globals()[_info.name] = _module
    __all__.append(_info.name)
    for _name in getattr(_module, "__all__", ()):
        if _name in globals() and globals()[_name] is not getattr(_module, _name):
            raise ImportError(f"normcode.plotting: {_name!r} is exported by two modules ({_info.name} and another); "
                              f"rename one of them")
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
del _info, _module, _name
