"""CIFAR-10-C-style corruptions, regenerated locally from the test images.

Hendrycks & Dietterich (2019, "Benchmarking Neural Network Robustness to Common
Corruptions and Perturbations", ICLR) corrupt the CIFAR-10 test set with 15+4
corruptions at 5 severities. The official files cannot be downloaded here, so this
module **regenerates** five of them from the images it is given, following the
definitions and the CIFAR parameter tables of the authors' script
(``ImageNet-C/create_c/make_cifar_c.py`` in ``hendrycks/robustness``). The results are
not the official CIFAR-10-C files: the Gaussian noise is drawn anew (seeded). This
module uses scipy.ndimage, Pillow and matplotlib's HSV conversion where the script uses
scikit-image and OpenCV; on 500 synthetic test images the four deterministic float
corruptions and JPEG gave byte-identical uint8 images to the script's functions run
with scikit-image 0.26 (``channel_axis=-1`` for the removed ``multichannel=True``) and
OpenCV 5.0, at all five severities. (The ``imagecorruptions`` package was not used: it
carries the ImageNet-C parameters, not the CIFAR ones, and its ``gaussian_blur`` fails
with scikit-image ≥ 0.19.)

==================  ======================================  ===========================
corruption          what it does (pixels in [0, 1])          parameter at severity 1…5
==================  ======================================  ===========================
gaussian_noise      ``x + N(0, σ²)``, clipped                σ = .04 .06 .08 .09 .10
gaussian_blur       Gaussian filter (``nearest`` borders)    σ = .4 .6 .7 .8 1 (pixels)
defocus_blur        disk of radius r, anti-aliased by a      (r, a) = (.3, .4) (.4, .5)
                    3×3 Gaussian of σ = a (mirror borders)   (.5, .6) (1, .2) (1.5, .1)
contrast            ``(x − m)·c + m``, m = channel means     c = .75 .5 .4 .3 .15
jpeg_compression    Pillow JPEG round trip                   quality = 80 65 58 50 40
brightness          HSV value ``V + b``, clipped             b = .05 .1 .15 .2 .3
==================  ======================================  ===========================

The report uses severities **1, 3 and 5** of these five tables (:data:`SEVERITIES`);
any of the five can be asked for. As in the script, the result is cast to uint8 by
truncation. Only ``gaussian_noise`` is random: it is deterministic given ``seed``, and
the same noise field serves every severity (severities differ only in its scale).

:func:`cached_corruption` keeps each result as ``.npz`` under the project's cache
(``$CIFAR_REPORT_CACHE`` or ``~/.cache/cifar-report``), keyed by the images'
fingerprint, corruption, severity, seed (noise only) and :data:`CORRUPTION_VERSION`.

Example
-------
>>> import numpy as np
>>> images = np.full((2, 32, 32, 3), 128, np.uint8)
>>> out = corrupt(images, "contrast", 5)
>>> out.shape, out.dtype, int(out[0, 0, 0, 0])   # a flat image keeps its mean
((2, 32, 32, 3), dtype('uint8'), 127)
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .synthetic import cache_root

CORRUPTION_VERSION = 1
"""Part of every cached file's name: bump it when a definition here changes."""

PARAMETERS: dict[str, tuple] = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1.0),
    "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1)),
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
    "jpeg_compression": (80, 65, 58, 50, 40),
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
}
"""CIFAR-10-C parameters per corruption, severities 1 to 5 (``make_cifar_c.py``)."""

CORRUPTIONS = tuple(PARAMETERS)
SEVERITIES = (1, 3, 5)
RANDOM = frozenset({"gaussian_noise"})
_CHUNK = 1000


# ----------------------------------------------------------------------------- definitions
def _gaussian_noise(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(x + rng.standard_normal(x.shape) * sigma, 0, 1)


def _gaussian_blur(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    # SciPy, matplotlib and Pillow (about 1 s) load only to corrupt: a build with nothing
    # to do reads cached predictions' digests through this module
    from scipy.ndimage import gaussian_filter

    # skimage.filters.gaussian(…, channel_axis=-1): mode "nearest", truncate 4
    return np.clip(
        gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="nearest", truncate=4.0), 0, 1
    )


def defocus_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """The script's ``disk``: a 17×17 indicator of ``X² + Y² ≤ radius²`` (normalized),
    smoothed by a separable 3×3 Gaussian of σ = ``alias_blur``, in float32 as
    ``cv2.GaussianBlur`` does it there."""
    from scipy.ndimage import correlate1d  # only to corrupt (see _gaussian_blur)

    if radius > 8:
        raise ValueError(f"defocus radius {radius} > 8: the CIFAR tables never use one")
    grid = np.arange(-8, 9)
    xx, yy = np.meshgrid(grid, grid)
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float32)
    disk /= disk.sum()
    taps = np.exp(-(np.array([-1.0, 0.0, 1.0]) ** 2) / (2 * alias_blur**2))
    taps = (taps / taps.sum()).astype(np.float32)
    kernel = correlate1d(
        correlate1d(disk, taps, axis=0, mode="mirror"), taps, axis=1, mode="mirror"
    )
    return kernel.astype(np.float64)


def _defocus_blur(
    x: np.ndarray, parameters: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    from scipy.ndimage import correlate  # only to corrupt (see _gaussian_blur)

    kernel = defocus_kernel(*parameters)
    # cv2.filter2D per channel: correlation with BORDER_REFLECT_101 (scipy's "mirror")
    return np.clip(correlate(x, kernel[None, :, :, None], mode="mirror"), 0, 1)


def _contrast(x: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    means = x.mean(axis=(1, 2), keepdims=True)
    return np.clip((x - means) * factor + means, 0, 1)


def _brightness(x: np.ndarray, shift: float, rng: np.random.Generator) -> np.ndarray:
    from matplotlib.colors import hsv_to_rgb, rgb_to_hsv  # only to corrupt (see above)

    hsv = rgb_to_hsv(x)
    hsv[..., 2] = np.clip(hsv[..., 2] + shift, 0, 1)
    return np.clip(hsv_to_rgb(hsv), 0, 1)


def _jpeg(images: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image  # only to corrupt (see _gaussian_blur)

    out = np.empty_like(images)
    for index, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
        with Image.open(buffer) as decoded:
            out[index] = np.asarray(decoded.convert("RGB"))
    return out


_FLOAT_OPS: dict[str, Callable[[np.ndarray, Any, np.random.Generator], np.ndarray]] = {
    "gaussian_noise": _gaussian_noise,
    "gaussian_blur": _gaussian_blur,
    "defocus_blur": _defocus_blur,
    "contrast": _contrast,
    "brightness": _brightness,
}


# ----------------------------------------------------------------------------- applying
def _check(images: np.ndarray, corruption: str, severity: int) -> np.ndarray:
    if corruption not in PARAMETERS:
        raise ValueError(
            f"unknown corruption {corruption!r}; choose one of {', '.join(CORRUPTIONS)}"
        )
    if severity not in (1, 2, 3, 4, 5) or isinstance(severity, bool):
        raise ValueError(f"severity must be an integer from 1 to 5 (CIFAR-10-C); got {severity!r}")
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(
            "corruptions take uint8 images of shape (N, height, width, 3); got "
            f"{images.dtype} {images.shape}"
        )
    return images


def corrupt(images: np.ndarray, corruption: str, severity: int, *, seed: int = 0) -> np.ndarray:
    """``images`` (uint8 ``(N, H, W, 3)``) with ``corruption`` at ``severity`` (1–5).

    Returns a new uint8 array of the same shape. Deterministic: the only random
    corruption, ``gaussian_noise``, draws from ``numpy.random.default_rng(seed)``.
    """
    images = _check(images, corruption, severity)
    parameter = PARAMETERS[corruption][severity - 1]
    if corruption == "jpeg_compression":
        return _jpeg(images, parameter)
    operation = _FLOAT_OPS[corruption]
    rng = np.random.default_rng(seed)  # drawn chunk after chunk: one stream for all images
    out = np.empty_like(images)
    for start in range(0, len(images), _CHUNK):
        x = images[start : start + _CHUNK].astype(np.float64) / 255.0
        # np.uint8(float) truncates, as the CIFAR-10-C script's final cast does
        out[start : start + _CHUNK] = (operation(x, parameter, rng) * 255).astype(np.uint8)
    return out


# ----------------------------------------------------------------------------- caching
def images_fingerprint(images: np.ndarray) -> str:
    """16 hex characters of sha256 over the images' dtype, shape and bytes."""
    contiguous = np.ascontiguousarray(images)
    digest = hashlib.sha256(str((contiguous.dtype.str, contiguous.shape)).encode())
    digest.update(contiguous.tobytes())
    return digest.hexdigest()[:16]


def cache_file(fingerprint: str, corruption: str, severity: int, seed: int = 0) -> Path:
    """Where :func:`cached_corruption` keeps one result: under ``<cache root>/corruptions``
    (see :func:`cifar_core.data.synthetic.cache_root`)."""
    seeded = f"-seed{seed}" if corruption in RANDOM else ""
    name = f"{corruption}-s{severity}{seeded}-v{CORRUPTION_VERSION}.npz"
    return cache_root() / "corruptions" / fingerprint / name


def cached_corruption(
    images: np.ndarray,
    corruption: str,
    severity: int,
    *,
    seed: int = 0,
    fingerprint: str | None = None,
) -> np.ndarray:
    """:func:`corrupt`, computed once and then read from the cache.

    ``fingerprint`` names the images in the cache key (e.g. ``dataset.fingerprint`` for
    ``dataset.x_test``); by default it is :func:`images_fingerprint` of ``images``. A
    cached array of another shape than ``images`` is ignored and recomputed. The file is
    written to a temporary name and moved into place (``os.replace``), so a crash never
    leaves a half-written entry and concurrent writers cannot corrupt one.
    """
    images = _check(images, corruption, severity)
    path = cache_file(fingerprint or images_fingerprint(images), corruption, severity, seed)
    try:
        with np.load(path) as stored:
            cached = stored["images"]
        if cached.shape == images.shape and cached.dtype == np.uint8:
            return cached
    except (OSError, ValueError, KeyError):
        pass
    result = corrupt(images, corruption, severity, seed=seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            np.savez_compressed(handle, images=result)
        os.replace(handle.name, path)
    except OSError:
        pass  # an unwritable cache only costs time later
    return result
