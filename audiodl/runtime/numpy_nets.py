"""Numpy forward passes of the excerpt CNNs (a torch-free backend).

:class:`NumpyExcerptNet` is the eval-mode twin of ``lidy2015`` and
``musicspeech_cnn`` (batch norm folded into the convolutions). It lets
``audiodl classify`` answer without importing torch; tests compare it with
the torch modules.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError

__all__ = ["NumpyExcerptNet", "NUMPY_ARCHS"]

#: architectures with a numpy forward pass
NUMPY_ARCHS = ("musicspeech_cnn", "lidy2015")


def _conv2d(x, w, b=None, *, padding=(0, 0)):
    """Cross-correlation like ``torch.nn.functional.conv2d`` (stride 1), via im2col + matmul.

    x [shape=(batch, c_in, h, w)], w [shape=(c_out, c_in, kh, kw)] -> (batch, c_out, h', w')."""
    ph, pw = padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    c_out, c_in, kh, kw = w.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    bsz, _, h, wd = win.shape[:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(bsz * h * wd, c_in * kh * kw)
    out = cols @ w.reshape(c_out, -1).T
    if b is not None:
        out += b
    return np.ascontiguousarray(out.reshape(bsz, h, wd, c_out).transpose(0, 3, 1, 2))


def _maxpool2d(x, kh, kw):
    b, c, h, w = x.shape
    h2, w2 = h // kh, w // kw
    return x[:, :, :h2 * kh, :w2 * kw].reshape(b, c, h2, kh, w2, kw).max(axis=(3, 5))


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class NumpyExcerptNet:
    """Eval-mode numpy twin of the excerpt models (``lidy2015``, ``musicspeech_cnn``).

    Batch norm is folded into the convolutions. ``net(x [shape=(batch,
    n_frames, n_mels)])`` returns speech logits ``(batch, 1)`` like the module.
    """

    kind = "excerpt"

    def __init__(self, arch: str, args: dict, state: dict):
        if arch not in NUMPY_ARCHS:
            raise ModelError(f"no numpy forward pass for {arch!r}")
        try:
            self._build(arch, args, state)
            self.n_bins = int(np.shape(self.mean)[-1]) if np.ndim(self.mean) else 1
            # a dry run: weights whose names or shapes do not fit the architecture fail here,
            # with ModelError, rather than on the first file
            out = self(np.zeros((1, self.n_frames, self.n_bins), np.float32))
        except ModelError:
            raise
        except Exception as exc:  # KeyError, ValueError (shapes), TypeError ...
            raise ModelError(f"{self._where(state)}weights do not fit the {arch!r} architecture "
                             f"({type(exc).__name__}: {str(exc)[:200]})") from None
        if np.shape(out) != (1, 1):
            raise ModelError(f"{self._where(state)}weights do not fit the {arch!r} "
                             f"architecture (output shape {np.shape(out)}, expected (1, 1))")

    @staticmethod
    def _where(state) -> str:
        src = getattr(state, "source", "")
        return f"{src}: " if src else ""

    def _build(self, arch: str, args: dict, state: dict):
        self.arch, self.args = arch, dict(args)
        self.n_frames = int(self.args.get("n_frames", 80))
        if not 1 <= self.n_frames <= 100000:
            raise ModelError(f"n_frames={self.n_frames} is out of range")
        st = {k: np.asarray(v, dtype=np.float32) for k, v in state.items()
              if not k.endswith("num_batches_tracked")}
        self.mean, self.std = st["norm.mean"], st["norm.std"]
        if arch == "lidy2015":
            self.conv = (st["conv.weight"], st["conv.bias"])
            self.pool = tuple(self.args.get("pool_size", (2, 1)))
            self.hidden = (st["hidden.weight"], st["hidden.bias"])
            self.out = (st["out.weight"], st["out.bias"])
            return
        # features = [conv_bn, conv_bn, MaxPool2d(2)] * len(channels); pools hold no weights
        self.blocks = []  # ("conv", w, b) with BN folded in, or ("pool",)
        n_layers = 1 + max(int(k.split(".")[1]) for k in st if k.startswith("features."))
        n_layers = -(-n_layers // 3) * 3
        for i in range(n_layers):
            if f"features.{i}.0.weight" not in st:
                self.blocks.append(("pool",))
                continue
            w = st[f"features.{i}.0.weight"]
            g, beta = st[f"features.{i}.1.weight"], st[f"features.{i}.1.bias"]
            m, v = st[f"features.{i}.1.running_mean"], st[f"features.{i}.1.running_var"]
            scale = g / np.sqrt(v + 1e-5)
            self.blocks.append(("conv", (w * scale[:, None, None, None]).astype(np.float32),
                                (beta - m * scale).astype(np.float32)))
        self.head = [(st["head.0.weight"], st["head.0.bias"]), (st["head.3.weight"],
                                                                st["head.3.bias"])]

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 3 or x.shape[-1] != getattr(self, "n_bins", x.shape[-1]):
            raise ModelError(f"{self.arch}: input of shape {x.shape}, expected (batch, "
                             f"{self.n_frames}, {getattr(self, 'n_bins', '?')})")
        x = (x - self.mean) / self.std
        if self.arch == "lidy2015":
            x = _sigmoid(_conv2d(x.transpose(0, 2, 1)[:, None], *self.conv))
            x = _maxpool2d(x, *self.pool)
            x = _sigmoid(x.reshape(len(x), -1) @ self.hidden[0].T + self.hidden[1])
            return x @ self.out[0].T + self.out[1]
        x = x[:, None]
        for blk in self.blocks:
            if blk[0] == "conv":
                x = np.maximum(_conv2d(x, blk[1], blk[2], padding=(1, 1)), 0.0)
            else:
                x = _maxpool2d(x, 2, 2)
        x = np.concatenate([x.mean(axis=(2, 3)), x.max(axis=(2, 3))], axis=1)
        (w1, b1), (w2, b2) = self.head
        return np.maximum(x @ w1.T + b1, 0.0) @ w2.T + b2
