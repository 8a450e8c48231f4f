"""Data-driven landscapes: fitting a line, and two-weight logistic regression.

Their loss is a mean over a seeded synthetic data set, so ``loss``, ``grad`` and ``hessian``
also take ``batch=``: an integer index array of shape (k,) (one mini-batch for every point) or
(..., k) broadcasting against the points' leading shape (one mini-batch per run). The mini-batch
loss is the same mean over the k chosen examples only.

The full-data line fit is evaluated from the data's means (a quadratic in m and b, written as a
completed square so nothing cancels), which makes a 400×400 grid cost O(1) per point; mini-batches
use the residuals directly. Logistic regression has no such shortcut: it walks large grids in
blocks that stay in the CPU cache.

The data come from ``numpy.random.PCG64(seed).random()`` (uniform doubles) and Box–Muller for the
Gaussian noise, so they are the same bits on every numpy version.
"""

from __future__ import annotations

import math

import numpy as np

from ._base import _FAR_AWAY, Landscape, _frozen, _matrix, _points, _vector


def _uniform(seed: int, shape) -> np.ndarray:
    return np.random.Generator(np.random.PCG64(seed)).random(shape)


def _gaussian(seed: int, shape) -> np.ndarray:
    """Standard normal samples by Box–Muller from seeded uniforms."""
    u = _uniform(seed, (2,) + tuple(np.atleast_1d(shape)))
    return np.sqrt(-2.0 * np.log1p(-u[0])) * np.cos(2.0 * math.pi * u[1])


class DataLandscape(Landscape):
    """A loss that is a mean over examples (x, y); ``loss``, ``grad``, ``hessian`` take ``batch=``.

    Subclasses write ``_loss(p, batch)``, ``_grad(p, batch)`` and ``_hessian(p, batch)`` on
    points p of shape (..., 2), taking their examples from ``self._examples(batch, p.dtype)``.
    """

    data: tuple[np.ndarray, np.ndarray]

    def _examples(self, batch, dtype) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the whole data set or of the mini-batch, in the points' dtype."""
        x, y = self.data
        if batch is not None:
            batch = np.asarray(batch)
            if batch.ndim == 0 or batch.shape[-1] == 0:
                raise ValueError(
                    f"a mini-batch is an index array of shape (..., k), k ≥ 1; "
                    f"got shape {batch.shape}"
                )
            if batch.dtype.kind not in "iu":
                raise ValueError(f"batch must be an integer index array, got dtype {batch.dtype}")
            x, y = x[batch], y[batch]
        return x.astype(dtype, copy=False), y.astype(dtype, copy=False)

    def loss(self, p, batch=None) -> np.ndarray:
        """Mean loss over the data (or over the mini-batch ``batch``) at p of shape (..., 2)."""
        p = _points(p)
        with np.errstate(**_FAR_AWAY):
            value = self._loss(p, batch)
        return np.asarray(value).astype(p.dtype, copy=False)[()]

    def grad(self, p, batch=None) -> np.ndarray:
        """Gradient of the (mini-batch) mean loss at p of shape (..., 2) -> (..., 2)."""
        p = _points(p)
        with np.errstate(**_FAR_AWAY):
            return np.asarray(self._grad(p, batch)).astype(p.dtype, copy=False)

    def hessian(self, p, batch=None) -> np.ndarray:
        """Hessian of the (mini-batch) mean loss at p of shape (..., 2) -> (..., 2, 2)."""
        p = _points(p)
        with np.errstate(**_FAR_AWAY):
            return np.asarray(self._hessian(p, batch)).astype(p.dtype, copy=False)


class LineFit(DataLandscape):
    """L(m, b) = 1/(2n) Σᵢ (m·xᵢ + b − yᵢ)², the mean squared error of the line ŷ = m·x + b, halved.

    With rᵢ = m·xᵢ + b − yᵢ:  ∂L/∂m = (1/n) Σ rᵢxᵢ,  ∂L/∂b = (1/n) Σ rᵢ, i.e. (1/n)·Xᵀ(Xw − y)
    with X = [x, 1];  ∇²L = (1/n)·XᵀX. This is the lesson's ½Σ divided by n, so the learning
    rate does not depend on n. Data: 50 points, x uniform on [−1, 3], y = 2x + 1 + noise
    (Gaussian, σ = 0.6), seed 2.

    Over the whole data set the same function is, exactly, the completed square
    L = ½[Vₓ(m − m*)² + (m·x̄ + b − ȳ)² + R], where x̄, ȳ are the means, Vₓ the variance of x,
    (m*, b*) the least-squares line and R its mean squared residual (so L(m*, b*) = R/2).
    """

    id = "line-fit"
    title = "Fitting a line"
    formula = r"\frac{1}{2n}\sum_{i=1}^{n} \left(m\,x_i + b - y_i\right)^2"
    description = (
        "The loss of a straight line ŷ = m·x + b over 50 data points, as a landscape over slope "
        "m and intercept b; it is the mean (not the sum) of squared errors, halved, so the "
        "learning rate does not depend on n, and a mini-batch gives a noisy version of it."
    )
    variables = ("m", "b")
    bounds = ((-1, 5), (-2, 4))
    start = (-0.5, 3.5)
    lr = 0.2

    n = 50
    seed = 2

    def __init__(self) -> None:
        x = -1.0 + 4.0 * _uniform(self.seed, self.n)
        y = 2.0 * x + 1.0 + 0.6 * _gaussian(self.seed + 1, self.n)
        self.data = (_frozen(x), _frozen(y))
        design = np.stack([x, np.ones_like(x)], axis=1)
        slope, intercept = np.linalg.lstsq(design, y, rcond=None)[0]
        self.minima = _frozen(np.array([[slope, intercept]]))
        residual = y - (slope * x + intercept)
        # the whole-data loss as a completed square: (x̄, ȳ, Vₓ, m*, R)
        self._moments = (
            x.mean(),
            y.mean(),
            np.mean((x - x.mean()) ** 2),
            slope,
            np.mean(residual * residual),
        )
        self.min_value = float(self.loss(self.minima[0]))

    def _full(self, p):
        x_mean, y_mean, x_var, slope, residual = (p.dtype.type(v) for v in self._moments)
        m, b = p[..., 0], p[..., 1]
        return m - slope, m * x_mean + b - y_mean, x_mean, x_var, residual

    def _residuals(self, p, batch):
        x, y = self._examples(batch, p.dtype)
        return p[..., 0, None] * x + p[..., 1, None] - y, x

    def _loss(self, p, batch):
        if batch is None:
            tilt, offset, _, x_var, residual = self._full(p)
            return 0.5 * (x_var * tilt * tilt + offset * offset + residual)
        r, _ = self._residuals(p, batch)
        return 0.5 * np.mean(r * r, axis=-1)

    def _grad(self, p, batch):
        if batch is None:
            tilt, offset, x_mean, x_var, _ = self._full(p)
            return _vector(x_var * tilt + x_mean * offset, offset, p[..., 0])
        r, x = self._residuals(p, batch)
        return _vector(np.mean(r * x, axis=-1), np.mean(r, axis=-1), p[..., 0])

    def _hessian(self, p, batch):
        x, _ = self._examples(batch, p.dtype)
        return _matrix(np.mean(x * x, axis=-1), np.mean(x, axis=-1), 1.0, p[..., 0])


# Logistic regression on a large grid walks it in blocks of about this many (point, example)
# pairs, so the temporaries stay in the CPU cache.
_BLOCK_PAIRS = 1 << 15


def _blockwise(formula, p, x, y, tail=()):
    """formula(p, x, y) over shared examples, evaluated block by block along p's points."""
    if x.ndim > 2 or p.size // 2 * len(y) <= _BLOCK_PAIRS:
        return formula(p, x, y)
    flat = p.reshape(-1, 2)
    out = np.empty((len(flat),) + tail, dtype=p.dtype)
    step = max(1, _BLOCK_PAIRS // len(y))
    for first in range(0, len(flat), step):
        out[first : first + step] = formula(flat[first : first + step], x, y)
    return out.reshape(p.shape[:-1] + tail)


def _logits(p, x):
    """z = w·xᵢ for every point and example: shape (..., k)."""
    if x.ndim == 2:
        return p @ x.T
    return np.einsum("...j,...kj->...k", p, x)


class Logistic(DataLandscape):
    """L(w) = (1/n) Σᵢ [log(1 + exp(w·xᵢ)) − yᵢ·w·xᵢ], the mean cross-entropy of σ(w·xᵢ).

    Two weights w = (w₁, w₂), no bias; labels yᵢ ∈ {0, 1}. The same as
    −(1/n) Σ [yᵢ log σ(zᵢ) + (1 − yᵢ) log(1 − σ(zᵢ))] with zᵢ = w·xᵢ.
    ∇L = (1/n)·Xᵀ(σ(Xw) − y);  ∇²L = (1/n)·Xᵀ diag(σ(1 − σ)) X.
    Computed as max((1 − 2y)z, 0) + log1p(exp(−|z|)), which never overflows. Data: 25 points
    per class, Gaussian (σ = 1) around (1, 0.5) for class 1 and (−1, −0.5) for class 0, seed 5;
    the classes overlap, so the minimum is finite (found by Newton's method at construction).
    """

    id = "logistic"
    title = "Logistic regression"
    formula = (
        r"\frac{1}{n}\sum_{i=1}^{n} \left[\log\left(1 + e^{w_1 x_{i1} + w_2 x_{i2}}\right)"
        r" - y_i\,(w_1 x_{i1} + w_2 x_{i2})\right]"
    )
    description = (
        "The mean cross-entropy of a two-weight logistic classifier on 50 overlapping points: "
        "a smooth convex bowl that flattens far out, where the sigmoid saturates."
    )
    variables = ("w₁", "w₂")
    bounds = ((-2, 6), (-3, 5))
    start = (-1.5, 4.0)
    lr = 1.0
    log_color = True

    n = 50
    seed = 5

    def __init__(self) -> None:
        half = self.n // 2
        centres = np.repeat([[1.0, 0.5], [-1.0, -0.5]], [half, self.n - half], axis=0)
        x = centres + _gaussian(self.seed, (self.n, 2))
        y = np.repeat([1.0, 0.0], [half, self.n - half])
        self.data = (_frozen(x), _frozen(y))
        w = np.zeros(2)
        for _ in range(100):
            step = np.linalg.solve(self.hessian(w), self.grad(w))
            w = w - step
            if np.max(np.abs(step)) <= 1e-15 * (1.0 + np.max(np.abs(w))):
                break
        else:
            raise RuntimeError("logistic data are separable: the loss has no finite minimum")
        self.minima = _frozen(w.reshape(1, 2))
        self.min_value = float(self.loss(w))

    @staticmethod
    def _mean_loss(p, x, y):
        z = _logits(p, x)
        # log(1 + e^z) − y·z = log(1 + e^{sz}) with s = 1 − 2y, = max(sz, 0) + log1p(e^{−|z|});
        # computed in place: this is the inner loop of a 400×400 heatmap
        tail = np.abs(z)
        np.negative(tail, out=tail)
        np.exp(tail, out=tail)
        np.log1p(tail, out=tail)
        z *= 1.0 - 2.0 * y
        np.maximum(z, 0.0, out=z)
        z += tail
        return np.mean(z, axis=-1)

    @staticmethod
    def _mean_grad(p, x, y):
        # σ(z) = 1/(1 + e^{−z}); e^{−z} overflows to inf for z < −709, where σ = 1/inf = 0
        error = _logits(p, x)
        np.negative(error, out=error)
        np.exp(error, out=error)
        error += 1.0
        np.reciprocal(error, out=error)
        error -= y  # σ(z) − y
        if x.ndim == 2:
            return error @ x / len(y)
        return np.einsum("...k,...kj->...j", error, x) / y.shape[-1]

    @staticmethod
    def _mean_hessian(p, x, y):
        small = np.exp(-np.abs(_logits(p, x)))
        weight = small / ((1.0 + small) * (1.0 + small))  # σ(z)·(1 − σ(z))
        x1, x2 = x[..., 0], x[..., 1]
        products = np.stack([x1 * x1, x1 * x2, x2 * x2], axis=-1)  # xᵢxᵢᵀ, upper triangle
        if x.ndim == 2:
            h11, h12, h22 = np.moveaxis(weight @ products / len(y), -1, 0)
        else:
            h11, h12, h22 = np.moveaxis(
                np.einsum("...k,...kc->...c", weight, products) / y.shape[-1], -1, 0
            )
        return _matrix(h11, h12, h22, h11)

    def _loss(self, p, batch):
        return _blockwise(self._mean_loss, p, *self._examples(batch, p.dtype))

    def _grad(self, p, batch):
        return _blockwise(self._mean_grad, p, *self._examples(batch, p.dtype), tail=(2,))

    def _hessian(self, p, batch):
        return _blockwise(self._mean_hessian, p, *self._examples(batch, p.dtype), tail=(2, 2))
