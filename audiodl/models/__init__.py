"""Neural network modules (torch). Pure ``nn.Module`` classes: no losses,
files or decoding. Import :mod:`audiodl.models.registry` to build by name."""
