"""Judging explanations: are they faithful, do they point at the object, do they survive the
sanity checks?

- ``metrics``  deletion / insertion curves, average drop / increase, pointing game, energy in
               the mask, sparseness, rank correlation
- ``sanity``   the model-randomisation sanity check (cascading, top layers first)
- ``table``    every method scored on the same images, in one table (English or Chinese)

Import them from the package itself: ``import xai_helpers as xh; xh.deletion_curve``.
"""
