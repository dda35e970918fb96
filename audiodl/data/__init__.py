"""Data: manifests, corpus synthesis, augmentation, real recordings and corpora.

Submodules are imported on demand (nothing heavy at ``import audiodl.data``):
:mod:`~audiodl.data.manifest`, :mod:`~audiodl.data.augment`,
:mod:`~audiodl.data.importers` (Debian-packaged recordings),
:mod:`~audiodl.data.loaders` (research corpora on disk),
:mod:`~audiodl.data.synth` (corpus generators), :mod:`~audiodl.data.realism`.
"""
