"""What the course assignments (``assignments/``) share: the checks that grade them and a small GAN.

The assignments are otter-grader notebooks (see ``book/en/teachers.md``). Their test
cells are short: each calls one function of :mod:`normcode.assignments.checks`, which
compares a student's function with an independent reference (PyTorch's own layer,
autograd, a numerical gradient or ``torch.linalg.svdvals``) and, when they disagree,
recognises the usual mistakes and says which one it is, in the notebook's language.
"""
from . import checks, gan

__all__ = ["checks", "gan"]
