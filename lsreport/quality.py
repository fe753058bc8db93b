"""Independent quality metrics of generated face images.

None of these metrics uses the autoencoder under study: faces are judged by
dlib's HOG face detector and its face-recognition ResNet [1]_, and by
distances between image sets in pixel space.

================================  ============================================
metric (key)                      what it measures
================================  ============================================
``detection_rate``                share of images in which dlib's HOG frontal
                                  face detector finds a face (images upsampled
                                  to 128 px first)
``face_frechet``                  Fréchet distance [2]_ between Gaussians fitted
                                  to 128-D dlib face descriptors of the set and
                                  of real test faces
``pixel_frechet``                 Fréchet distance in a fixed 64-component PCA
                                  of the real images' pixels
``sliced_wasserstein``            sliced Wasserstein-2 distance between pixel
                                  vectors (seeded random projections)
``nn_ratio``                      memorisation: median distance of each image
                                  to its nearest training image (in the pixel
                                  PCA space), divided by the same median for
                                  real test images
``copy_rate``                     share of images closer to the training set
                                  than 95 % of the real test images are
``latent_radius_w1``              Wasserstein-1 distance between the
                                  Mahalanobis radii of a sampler's z-vectors
                                  and the real latents' (latent space)
================================  ============================================

``precision``, ``recall``,        Kynkäänniemi et al. (2019) and Naeem et al.
``density``, ``coverage``         (2020) on the face descriptors (PyPI
                                  ``prdc``, k = 5): are the faces realistic
                                  (precision, density), and do they cover
                                  all kinds of real faces (recall, coverage)?

Every metric comes as a :class:`Metric` with an interval and the number of
images it rests on. For rates and ratios the interval is a percentile
bootstrap confidence interval. For the distances between sets
(:data:`DISTANCES`) it is only the estimator's spread at this n: the
distances are biased upwards at finite n (for a 16-D Fréchet distance with
n = 300 the estimate averages 0.80 where the truth is 0.23), so read them
against a real-vs-real baseline at the same n, and compare two sets by the
difference of their distances to one reference (:func:`paired_replicates`,
:func:`difference_interval`). :func:`evaluate_images` gives one
:class:`QualityReport`; :func:`quality_table` a tidy DataFrame over named sets.

Distances between sets (Fréchet, Wasserstein) are biased upwards by finite
samples: two halves of the same real face set have a face-embedding Fréchet
distance that falls roughly like ``1/n`` (about 0.3, 0.1, 0.035 for n = 30,
100, 300 descriptors of celeba_tight faces). Compare sets only at equal
``n``, which the defaults ensure (``max_descriptors=400`` per set).

References
----------
.. [1] D. E. King, "Dlib-ml: A machine learning toolkit", Journal of Machine
   Learning Research 10, 1755-1758, 2009.
.. [2] M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter,
   "GANs trained by a two time-scale update rule converge to a local Nash
   equilibrium", NeurIPS 2017.
.. [3] P. Ghosh, M. S. M. Sajjadi, A. Vergari, M. Black, B. Schölkopf,
   "From variational to deterministic autoencoders", ICLR 2020.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from collections.abc import Callable, Mapping, MutableMapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, fields

import numpy as np
from scipy import linalg
from threadpoolctl import threadpool_limits

__all__ = [
    "Metric",
    "FaceAnalysis",
    "PixelPCA",
    "ReferenceSet",
    "QualityReport",
    "METRICS",
    "to_uint8",
    "upsample",
    "analyse_faces",
    "submit_faces",
    "FaceJob",
    "face_pool",
    "fit_gaussian",
    "frechet_distance",
    "frechet_distance_samples",
    "sliced_wasserstein",
    "nearest_neighbour_distances",
    "bootstrap_ci",
    "rate_metric",
    "frechet_metric",
    "sliced_wasserstein_metric",
    "memorisation_metrics",
    "latent_radius_metric",
    "prdc_metrics",
    "paired_replicates",
    "difference_interval",
    "DISTANCES",
    "prepare_reference",
    "evaluate_images",
    "quality_table",
    "wide_table",
]

#: Metric key -> (label, "higher" or "lower" is better / closer to real).
METRICS: dict[str, tuple[str, str]] = {
    "detection_rate": ("face detection rate", "higher"),
    "face_frechet": ("Fréchet face-embedding distance", "lower"),
    "pixel_frechet": ("Fréchet distance, pixel PCA", "lower"),
    "sliced_wasserstein": ("sliced Wasserstein distance, pixels", "lower"),
    "nn_ratio": ("nearest-training-image distance ratio", "closer to 1"),
    "copy_rate": ("near-copy rate", "lower"),
    "latent_radius_w1": ("Mahalanobis-radius W1 distance", "lower"),
    "precision": ("precision (realistic faces)", "higher"),
    "recall": ("recall (variety of faces)", "higher"),
    "density": ("density", "closer to 1"),
    "coverage": ("coverage", "higher"),
}

#: Metrics that measure a distance between two sets: biased upwards at finite
#: n, read against the real-vs-real baseline; their interval is the
#: estimator's spread at this n, not a confidence interval of the distance.
DISTANCES = ("face_frechet", "pixel_frechet", "sliced_wasserstein", "latent_radius_w1")

#: Neighbours of the precision/recall/density/coverage manifolds (Naeem et al.
#: 2020 use k = 5).
PRDC_K = 5

_CHIP_SIZE = 150  # input size of dlib's face-recognition ResNet
# BLAS threads for the metric arithmetic. Its matrices are small (128 x 128
# covariances, bootstrap loops), and OpenBLAS threads spin-wait when the cores
# are busy: on the shared 2-core machine a 128 x 128 eigh took 230 ms with 2
# threads against 2.7 ms with 1, and the 64-component pixel PCA 18 s against
# 3.7 s. One thread is never much slower here.
_BLAS_THREADS = 1
_CHIP_PADDING = 0.25


# ----------------------------------------------------------------- images


def to_uint8(images) -> np.ndarray:
    """Convert an image batch to contiguous uint8 RGB, shape ``(N, H, W, 3)``.

    Parameters
    ----------
    images : array_like
        ``(N, H, W, 3)``, ``(N, H, W, 1)`` or ``(N, H, W)``; uint8 (or another
        integer type with values 0-255) or float in ``[0, 1]`` (decoder
        output; values within 0.01 outside the range are clipped). Grey images
        are repeated to three channels.

    Returns
    -------
    ndarray, uint8, shape (N, H, W, 3)

    Raises
    ------
    ValueError
        For another shape, NaN values, floats outside ``[0, 1]`` (e.g. 0-255
        floats) or integers outside 0-255.
    """
    a = np.asarray(images)
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4 or a.shape[-1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, H, W, 3) or (N, H, W); got {np.shape(images)}")
    if a.dtype == np.uint8:
        out = a
    elif np.issubdtype(a.dtype, np.floating):
        if a.size and not np.all(np.isfinite(a)):
            raise ValueError("images contain NaN or inf")
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 1.0)
        if lo < -0.01 or hi > 1.01:
            raise ValueError(
                f"float images must lie in [0, 1]; got values from {lo:.3g} to {hi:.3g} "
                "(for 0-255 floats pass images.astype(np.uint8))"
            )
        out = np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        if a.size and (a.min() < 0 or a.max() > 255):
            raise ValueError(f"integer images must lie in 0..255; got {a.min()}..{a.max()}")
        out = a.astype(np.uint8)
    else:
        raise ValueError(f"unsupported image dtype {a.dtype}")
    if out.shape[-1] == 1:
        out = np.repeat(out, 3, axis=-1)
    return np.ascontiguousarray(out)


def upsample(image: np.ndarray, size: int = 128) -> np.ndarray:
    """Resize one uint8 RGB image so that its width is ``size`` pixels.

    Bicubic interpolation (PIL) when enlarging, Lanczos when shrinking; the
    aspect ratio is kept.
    """
    from PIL import Image

    h, w = image.shape[:2]
    if w == size:
        return image
    new = (int(size), max(1, int(round(h * size / w))))
    method = Image.BICUBIC if size > w else Image.LANCZOS
    return np.asarray(Image.fromarray(image).resize(new, method))


def _content_key(images: np.ndarray, *settings) -> str:
    h = hashlib.sha1()
    h.update(repr((images.shape, str(images.dtype), settings)).encode())
    h.update(memoryview(np.ascontiguousarray(images)).cast("B"))
    return h.hexdigest()


# ----------------------------------------------------------------- dlib faces


@dataclass(frozen=True)
class FaceAnalysis:
    """dlib's view of an image set.

    Attributes
    ----------
    detected : ndarray of bool, shape (N,)
        Whether the HOG detector found at least one face.
    n_faces : ndarray of int, shape (N,)
        Number of detections.
    score : ndarray of float, shape (N,)
        Detector score of the best detection (NaN where none).
    box : ndarray of int, shape (N, 4)
        ``(left, top, right, bottom)`` of the best detection in the upsampled
        image (-1 where none).
    descriptors : ndarray of float32, shape (M, 128)
        Face descriptors of the images in :attr:`descriptor_index`.
    descriptor_index : ndarray of int, shape (M,)
        Which images have a descriptor.
    upsample_to : int
        Width the images were resized to before detection.
    """

    detected: np.ndarray
    n_faces: np.ndarray
    score: np.ndarray
    box: np.ndarray
    descriptors: np.ndarray = field(repr=False)
    descriptor_index: np.ndarray = field(repr=False)
    upsample_to: int = 128

    @property
    def n(self) -> int:
        """Number of images."""
        return int(self.detected.shape[0])

    @property
    def rate(self) -> float:
        """Share of images with a detected face."""
        return float(self.detected.mean()) if self.n else float("nan")

    def take(self, index) -> FaceAnalysis:
        """The analysis of a subset of the images (descriptors re-indexed)."""
        index = np.asarray(index)
        pos = {int(j): k for k, j in enumerate(self.descriptor_index)}
        keep = [(i, pos[int(j)]) for i, j in enumerate(index) if int(j) in pos]
        new_idx = np.array([i for i, _ in keep], dtype=np.int64)
        rows = np.array([k for _, k in keep], dtype=np.int64)
        return FaceAnalysis(
            self.detected[index],
            self.n_faces[index],
            self.score[index],
            self.box[index],
            self.descriptors[rows] if rows.size else np.empty((0, 128), np.float32),
            new_idx,
            self.upsample_to,
        )


_LOCAL = threading.local()


def _models(descriptors: bool):
    # one set of dlib models per thread (and so per worker process): the ResNet
    # keeps internal buffers and must not be shared between threads
    import dlib

    m = getattr(_LOCAL, "models", None)
    if m is None:
        m = _LOCAL.models = {"detector": dlib.get_frontal_face_detector()}
    if descriptors and "net" not in m:
        import face_recognition_models as frm

        m["shape"] = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        m["net"] = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
    return m


def _analyse_chunk(task):
    """Worker: detect faces (and descriptors where asked) in one chunk."""
    import dlib

    images, want, size = task
    m = _models(bool(want.any()))
    n = images.shape[0]
    n_faces = np.zeros(n, np.int64)
    score = np.full(n, np.nan)
    box = np.full((n, 4), -1, np.int64)
    chips = []
    for i in range(n):
        up = upsample(images[i], size)
        rects, scores, _ = m["detector"].run(up, 0, 0.0)
        n_faces[i] = len(rects)
        best = None
        if len(rects):
            best = rects[int(np.argmax(scores))]
            score[i] = max(scores)
            box[i] = (best.left(), best.top(), best.right(), best.bottom())
        if want[i]:
            # no detection: landmarks on the whole frame, so that every image
            # (garbage included) gets a descriptor and none is silently dropped
            rect = best if best is not None else dlib.rectangle(0, 0, up.shape[1] - 1, up.shape[0] - 1)
            shape = m["shape"](up, rect)
            chips.append(dlib.get_face_chip(up, shape, size=_CHIP_SIZE, padding=_CHIP_PADDING))
    desc = np.empty((len(chips), 128), np.float32)
    for k, chip in enumerate(chips):
        desc[k] = np.asarray(m["net"].compute_face_descriptor(chip), dtype=np.float32)
    return n_faces, score, box, desc


def _faces_key(imgs: np.ndarray, idx: np.ndarray, upsample_to: int) -> str:
    return "faces-" + _content_key(imgs, int(upsample_to), hashlib.sha1(idx.astype(np.int64).tobytes()).hexdigest())


def _descriptor_subset(n: int, max_descriptors: int | None) -> np.ndarray:
    if max_descriptors is None or max_descriptors >= n:
        return np.arange(n)
    if max_descriptors < 0:
        raise ValueError(f"max_descriptors must be >= 0 or None; got {max_descriptors}")
    # evenly spaced, deterministic: no rng needed and stable under caching
    return np.unique(np.round(np.linspace(0, n - 1, int(max_descriptors))).astype(np.int64))


def analyse_faces(
    images,
    *,
    upsample_to: int = 128,
    max_descriptors: int | None = 400,
    descriptor_index=None,
    n_jobs: int = 2,
    backend: str = "process",
    chunk_size: int | None = None,
    cache: MutableMapping | None = None,
    executor=None,
) -> FaceAnalysis:
    """Run dlib's face detector and face-recognition network on an image set.

    Parameters
    ----------
    images : array_like
        ``(N, H, W, 3)`` uint8 or float in ``[0, 1]`` (see :func:`to_uint8`).
    upsample_to : int, default 128
        Width the images are resized to first (bicubic): dlib's HOG detector
        finds faces of about 80 px and larger, so 64 px faces must be enlarged.
    max_descriptors : int or None, default 400
        Compute descriptors for at most this many images, evenly spaced over
        the set (``None``: all, ``0``: none). On a CPU build of dlib the
        ResNet takes about 0.1 s per image, against 2 ms for detection.
    descriptor_index : array_like of int, optional
        Exactly which images get a descriptor (overrides ``max_descriptors``).
    n_jobs : int, default 2
        Parallel workers; 1 runs in this process.
    backend : {"process", "thread"}, default "process"
        ``"process"`` uses a process pool started by a fork server (safe
        after TensorFlow has started threads); each worker needs 1-2 s to
        build the detector, so analyse many images per call.
        ``"thread"`` uses a thread pool (each thread its own dlib models),
        which only helps where dlib releases the GIL.
    chunk_size : int, optional
        Images per task; default splits the set into ``4 * n_jobs`` chunks.
    cache : mutable mapping, optional
        Results by content hash of the images and settings (e.g. a dict, or
        the project's artifact cache); a hit skips all work.
    executor : concurrent.futures.Executor, optional
        A running pool (see :func:`face_pool`) used instead of starting one;
        ``n_jobs`` then only sets the chunking.

    Returns
    -------
    FaceAnalysis

    Notes
    -----
    Every image in the descriptor subset gets a descriptor: the 5-point
    landmark predictor runs on the best detected face box, or on the whole
    image where no face was detected, then the aligned 150 px chip goes
    through the ResNet. Garbage images thus enter the Fréchet distance instead
    of being dropped; the share with a detected face is reported separately
    (:attr:`FaceAnalysis.rate`).

    References
    ----------
    .. [1] D. E. King, "Dlib-ml: A machine learning toolkit", JMLR 10, 2009.
    .. [2] D. E. King, "Max-margin object detection", arXiv:1502.00046, 2015
       (the HOG detector's training).
    """
    imgs = to_uint8(images)
    n = imgs.shape[0]
    if descriptor_index is None:
        idx = _descriptor_subset(n, max_descriptors)
    else:
        idx = np.unique(np.asarray(descriptor_index, dtype=np.int64))
        if idx.size and (idx[0] < 0 or idx[-1] >= n):
            raise ValueError(f"descriptor_index out of range for {n} images")
    key = None
    if cache is not None:
        key = _faces_key(imgs, idx, upsample_to)
        hit = cache.get(key)
        if hit is not None:
            return hit
    want = np.zeros(n, bool)
    want[idx] = True
    out = _analyse_masked(imgs, want, n_jobs=n_jobs, backend=backend, chunk_size=chunk_size,
                          upsample_to=upsample_to, executor=executor)
    if cache is not None:
        cache[key] = out
    return out


class FaceJob:
    """dlib's analysis of one image set, running in a pool (see :func:`submit_faces`).

    The chunks of the set are queued in the pool when the job is made; the
    caller goes on with other work and calls :meth:`result` when it needs the
    analysis. Chunks are analysed independently image by image, so the result
    is the same (bit for bit) as :func:`analyse_faces` on the same images.
    """

    def __init__(self, parts: list, want: np.ndarray, upsample_to: int, on_result=None):
        self._parts = parts  # futures, or finished (n_faces, score, box, desc) tuples
        self._want = want
        self._upsample_to = int(upsample_to)
        self._on_result = on_result
        self._result: FaceAnalysis | None = None

    @classmethod
    def finished(cls, analysis: FaceAnalysis) -> FaceJob:
        """A job whose result is already known (e.g. a cache hit)."""
        job = cls([], np.zeros(0, bool), analysis.upsample_to)
        job._result = analysis
        return job

    def done(self) -> bool:
        """Whether every chunk has been analysed."""
        return self._result is not None or all(not hasattr(p, "done") or p.done() for p in self._parts)

    def cancel(self) -> None:
        """Cancel the chunks not started yet (after an error elsewhere)."""
        for p in self._parts:
            if hasattr(p, "cancel"):
                p.cancel()

    def result(self) -> FaceAnalysis:
        """The :class:`FaceAnalysis`, waiting for the pool where needed."""
        if self._result is None:
            results = [p.result() if hasattr(p, "result") else p for p in self._parts]
            self._result = _combine(results, self._want, self._upsample_to)
            self._parts = []
            if self._on_result is not None:
                self._on_result(self._result)
        return self._result


def _result_of(analysis) -> FaceAnalysis:
    return analysis.result() if isinstance(analysis, FaceJob) else analysis


def submit_faces(
    images,
    *,
    executor=None,
    upsample_to: int = 128,
    max_descriptors: int | None = 400,
    n_jobs: int = 2,
    chunk_size: int | None = None,
    cache: MutableMapping | None = None,
) -> FaceJob:
    """Queue :func:`analyse_faces` of one image set in a running pool; return at once.

    Parameters
    ----------
    images : array_like
        As for :func:`analyse_faces`.
    executor : concurrent.futures.Executor, optional
        The pool (see :func:`face_pool`). Without one the analysis runs here,
        now, and the job comes back finished.
    upsample_to, max_descriptors, n_jobs, chunk_size, cache
        As for :func:`analyse_faces` (``n_jobs`` only sets the chunking; a
        cache hit gives a finished job, a new result is stored when
        :meth:`FaceJob.result` is first called).

    Returns
    -------
    FaceJob

    Examples
    --------
    >>> with face_pool(2) as pool:                      # doctest: +SKIP
    ...     job = submit_faces(images, executor=pool)
    ...     other_work()                                # runs while dlib works
    ...     analysis = job.result()
    """
    imgs = to_uint8(images)
    n = imgs.shape[0]
    idx = _descriptor_subset(n, max_descriptors)
    key = None
    if cache is not None:
        key = _faces_key(imgs, idx, upsample_to)
        hit = cache.get(key)
        if hit is not None:
            return FaceJob.finished(hit)
    want = np.zeros(n, bool)
    want[idx] = True
    tasks = _tasks(imgs, want, n_jobs=n_jobs, chunk_size=chunk_size, upsample_to=upsample_to)
    if executor is None:
        parts = [_analyse_chunk(t) for t in tasks]
    else:
        parts = [executor.submit(_analyse_chunk, t) for t in tasks]
    on_result = None if cache is None else (lambda a: cache.__setitem__(key, a))
    return FaceJob(parts, want, upsample_to, on_result)


# ----------------------------------------------------------------- distances


def fit_gaussian(x) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``ddof=1``) of the rows of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need a 2-D array with at least 2 rows; got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("features contain NaN or inf")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def frechet_distance(mu1, cov1, mu2, cov2, *, eps: float = 1e-6) -> float:
    """Fréchet distance between two Gaussians.

    ``d^2 = |mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2))``, computed like the
    reference FID code: ``scipy.linalg.sqrtm`` of ``C1 C2``; if the product is
    near singular (non-finite root), ``eps * I`` is added to both covariances;
    an imaginary part from rounding is dropped, a large one raises.

    Parameters
    ----------
    mu1, mu2 : array_like, shape (d,)
        Means.
    cov1, cov2 : array_like, shape (d, d)
        Covariances.
    eps : float, default 1e-6
        Diagonal offset used only when the plain square root fails.

    Returns
    -------
    float
        The squared Fréchet distance (the quantity reported as FID), >= 0.

    References
    ----------
    .. [1] M. Heusel et al., "GANs trained by a two time-scale update rule
       converge to a local Nash equilibrium", NeurIPS 2017.
    .. [2] D. C. Dowson, B. V. Landau, "The Fréchet distance between
       multivariate normal distributions", J. Multivariate Anal. 12, 1982.

    Examples
    --------
    >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))
    4.0
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(float), np.atleast_1d(mu2).astype(float)
    c1, c2 = np.atleast_2d(cov1).astype(float), np.atleast_2d(cov2).astype(float)
    if mu1.shape != mu2.shape or c1.shape != c2.shape or c1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: {mu1.shape}, {c1.shape}, {mu2.shape}, {c2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # a singular product is handled below, like the reference FID code
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(c1 @ c2)
        if not np.all(np.isfinite(covmean)):
            offset = eps * np.eye(c1.shape[0])
            covmean = linalg.sqrtm((c1 + offset) @ (c2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.max(np.abs(np.diagonal(covmean).imag))
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3 * max(1.0, np.abs(covmean).max())):
            raise ValueError(f"matrix square root has a large imaginary component ({imag:.3g})")
        covmean = covmean.real
    d2 = float(diff @ diff + np.trace(c1) + np.trace(c2) - 2.0 * np.trace(covmean))
    return max(d2, 0.0)


def _frechet_eigh(mu1, c1, mu2, c2) -> float:
    # tr (C1 C2)^(1/2) = sum sqrt(eig(S C2 S)) with S = C1^(1/2): symmetric, fast,
    # no complex parts; used inside the bootstrap loops
    w, v = np.linalg.eigh(c1)
    s = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    lam = np.linalg.eigvalsh(s @ c2 @ s)
    diff = mu1 - mu2
    d2 = diff @ diff + np.trace(c1) + np.trace(c2) - 2.0 * np.sqrt(np.clip(lam, 0, None)).sum()
    return max(float(d2), 0.0)


def frechet_distance_samples(x, y) -> float:
    """Fréchet distance between Gaussians fitted to the rows of ``x`` and ``y``."""
    return frechet_distance(*fit_gaussian(x), *fit_gaussian(y))


def _directions(d: int, n_projections: int, rng: np.random.Generator) -> np.ndarray:
    theta = rng.standard_normal((d, n_projections))
    return theta / np.linalg.norm(theta, axis=0, keepdims=True)


def _w_sorted(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """Exact W_p^p between 1-D empirical distributions, column-wise, both sorted."""
    n, m = a.shape[0], b.shape[0]
    if n == m:
        return np.mean(np.abs(a - b) ** p, axis=0)
    u = np.union1d(np.arange(1, n + 1) / n, np.arange(1, m + 1) / m)
    du = np.diff(np.concatenate([[0.0], u]))
    mid = u - du / 2
    ia = np.minimum((mid * n).astype(np.int64), n - 1)
    ib = np.minimum((mid * m).astype(np.int64), m - 1)
    return (du[:, None] * np.abs(a[ia] - b[ib]) ** p).sum(axis=0)


def sliced_wasserstein(
    x, y, *, rng: np.random.Generator, n_projections: int = 256, p: float = 2.0
) -> float:
    """Sliced Wasserstein-p distance between two point sets.

    ``SW_p = (mean_theta W_p^p(x theta, y theta))^(1/p)`` over random unit
    directions ``theta``; each 1-D distance is exact (also for sets of
    different sizes).

    Parameters
    ----------
    x : array_like, shape (n, ...)
        First set (rows flattened to vectors).
    y : array_like, shape (m, ...)
        Second set, same vector length.
    rng : numpy.random.Generator
        Draws the projection directions; the same seed gives the same value.
    n_projections : int, default 256
        Number of directions.
    p : float, default 2.0
        Order of the distance.

    Returns
    -------
    float

    References
    ----------
    .. [1] N. Bonneel, J. Rabin, G. Peyré, H. Pfister, "Sliced and Radon
       Wasserstein barycenters of measures", J. Math. Imaging Vis. 51, 2015.
    """
    xf, yf = _as_features(x), _as_features(y)
    if xf.shape[1] != yf.shape[1]:
        raise ValueError(f"sets differ in dimension: {xf.shape[1]} vs {yf.shape[1]}")
    theta = _directions(xf.shape[1], n_projections, rng)
    px, py = np.sort(xf @ theta, axis=0), np.sort(yf @ theta, axis=0)
    return float(np.mean(_w_sorted(px, py, p)) ** (1.0 / p))


def _as_features(x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == np.uint8:
        a = a.reshape(a.shape[0], -1).astype(np.float32) / 255.0
    else:
        a = a.reshape(a.shape[0], -1).astype(np.float64 if a.dtype == np.float64 else np.float32)
    if a.shape[0] < 1:
        raise ValueError("empty set")
    return a


def nearest_neighbour_distances(
    queries, train, *, chunk_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance of each query to its nearest training row.

    Parameters
    ----------
    queries : array_like, shape (n, ...)
        Query vectors or images (uint8 images are scaled to [0, 1]).
    train : array_like, shape (m, ...)
        Reference vectors or images of the same size.
    chunk_size : int, default 1024
        Rows per block on each side: memory stays at
        ``chunk_size**2`` distances plus one block of each input.

    Returns
    -------
    dist : ndarray, shape (n,)
        Distance to the nearest training row.
    index : ndarray, shape (n,)
        Its row index in ``train``.
    """
    q = np.asarray(queries)
    t = np.asarray(train)
    nq, nt = q.shape[0], t.shape[0]
    if nt == 0:
        raise ValueError("empty training set")
    if q.shape[1:] != t.shape[1:]:
        raise ValueError(f"queries {q.shape[1:]} and training rows {t.shape[1:]} differ in shape")
    best = np.full(nq, np.inf)
    arg = np.zeros(nq, np.int64)
    for a in range(0, nq, chunk_size):
        qa = _as_features(q[a : a + chunk_size]).astype(np.float64)
        qn = (qa * qa).sum(axis=1)
        for b in range(0, nt, chunk_size):
            tb = _as_features(t[b : b + chunk_size]).astype(np.float64)
            d2 = qn[:, None] + (tb * tb).sum(axis=1)[None, :] - 2.0 * qa @ tb.T
            j = d2.argmin(axis=1)
            v = d2[np.arange(d2.shape[0]), j]
            better = v < best[a : a + chunk_size]
            best[a : a + chunk_size][better] = v[better]
            arg[a : a + chunk_size][better] = b + j[better]
    # the expansion |q|^2 + |t|^2 - 2 q.t loses digits by cancellation; recompute
    # the winning distances directly (exact 0 for a copy of a training row)
    dist = np.empty(nq)
    for a in range(0, nq, chunk_size):
        diff = _as_features(q[a : a + chunk_size]).astype(np.float64) - _as_features(
            t[arg[a : a + chunk_size]]
        ).astype(np.float64)
        dist[a : a + chunk_size] = np.sqrt((diff * diff).sum(axis=1))
    return dist, arg


# ----------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class Metric:
    """A metric value with its bootstrap interval.

    Attributes
    ----------
    value : float
        Point estimate on the full sample(s).
    ci_low, ci_high : float
        Bounds of a 95 % bootstrap interval: a confidence interval for rates
        and ratios; for the distances (:data:`DISTANCES`) the estimator's
        spread at this n (recentred, see :func:`bootstrap_ci`), which does not
        cover the population distance. NaN where no interval is given
        (precision, recall, density, coverage).
    n : int
        Number of images (or vectors) of the evaluated set.
    """

    value: float
    ci_low: float
    ci_high: float
    n: int

    def __str__(self) -> str:
        return f"{self.value:.4g} [{self.ci_low:.4g}, {self.ci_high:.4g}] (n={self.n})"


def bootstrap_ci(
    statistic: Callable[..., float],
    *samples,
    rng: np.random.Generator,
    n_boot: int = 200,
    level: float = 0.95,
    recentre: bool = False,
) -> tuple[float, float, float]:
    """Percentile bootstrap interval of a statistic of one or more samples.

    Each sample is resampled with replacement along its first axis,
    independently of the others.

    Parameters
    ----------
    statistic : callable
        ``statistic(*samples) -> float``.
    *samples : array_like
        The data.
    rng : numpy.random.Generator
        Draws the resamples.
    n_boot : int, default 200
        Number of resamples.
    level : float, default 0.95
        Coverage of the interval.
    recentre : bool, default False
        Shift the bootstrap distribution so that its median is the point
        estimate. Meant for distances between sets (Fréchet, Wasserstein):
        they are biased upwards in the number of samples, and resampling with
        replacement (duplicates) inflates them further, so the plain percentile
        interval would lie entirely above the estimate. The recentred interval
        shows the sampling spread around the estimate; it does not remove the
        estimator's own finite-sample bias, so it is no confidence interval
        of the population distance (it contains the estimate by
        construction, and between two samples of one population it
        excludes 0). Compare sets with :func:`difference_interval`.

    Returns
    -------
    value, low, high : float
    """
    arrays = [np.asarray(s) for s in samples]
    value = float(statistic(*arrays))
    boots = np.empty(int(n_boot))
    for k in range(int(n_boot)):
        boots[k] = statistic(*(a[rng.integers(0, a.shape[0], a.shape[0])] for a in arrays))
    boots = boots[np.isfinite(boots)]
    if boots.size == 0:
        return value, float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boots, [alpha, 1.0 - alpha])
    if recentre:
        shift = float(np.median(boots)) - value
        lo, hi = max(lo - shift, 0.0), hi - shift
    return value, float(lo), float(hi)


@threadpool_limits.wrap(limits=_BLAS_THREADS, user_api="blas")
def rate_metric(flags, *, rng: np.random.Generator, n_boot: int = 200, level: float = 0.95) -> Metric:
    """Share of True values with a percentile bootstrap interval."""
    flags = np.asarray(flags, dtype=float).ravel()
    if flags.size == 0:
        return Metric(float("nan"), float("nan"), float("nan"), 0)
    v, lo, hi = bootstrap_ci(np.mean, flags, rng=rng, n_boot=n_boot, level=level)
    return Metric(v, lo, hi, int(flags.size))


@threadpool_limits.wrap(limits=_BLAS_THREADS, user_api="blas")
def frechet_metric(x, y, *, rng: np.random.Generator, n_boot: int = 100, level: float = 0.95) -> Metric:
    """Fréchet distance between feature sets ``x`` (evaluated) and ``y`` (reference).

    The point estimate uses :func:`frechet_distance`; the interval resamples
    both sets (recentred, see :func:`bootstrap_ci`) with a faster symmetric
    eigen-decomposition formula of the same quantity.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    value = frechet_distance_samples(x, y)

    def stat(a, b):
        return _frechet_eigh(*fit_gaussian(a), *fit_gaussian(b))

    _, lo, hi = bootstrap_ci(stat, x, y, rng=rng, n_boot=n_boot, level=level, recentre=True)
    shift = stat(x, y) - value  # the two formulas differ only by rounding
    return Metric(value, max(lo - shift, 0.0), hi - shift, int(x.shape[0]))


@threadpool_limits.wrap(limits=_BLAS_THREADS, user_api="blas")
def sliced_wasserstein_metric(
    x, y, *, rng: np.random.Generator, n_projections: int = 256, p: float = 2.0, n_boot: int = 100,
    level: float = 0.95, directions: np.ndarray | None = None,
) -> Metric:
    """:func:`sliced_wasserstein` with a recentred bootstrap interval.

    Parameters
    ----------
    x, y : array_like
        Evaluated and reference sets (rows flattened; uint8 images scaled to
        [0, 1]).
    rng : numpy.random.Generator
        Draws the bootstrap resamples, and the directions if not given.
    n_projections : int, default 256
        Number of directions drawn when ``directions`` is None.
    p : float, default 2.0
        Order of the distance.
    n_boot : int, default 100
        Resamples (the directions stay fixed).
    level : float, default 0.95
        Interval coverage.
    directions : ndarray, shape (d, n_projections), optional
        Unit directions as columns; pass the same ones for every set of a
        comparison so that the values share one yardstick.

    Returns
    -------
    Metric
    """
    xf, yf = _as_features(x), _as_features(y)
    theta = _directions(xf.shape[1], n_projections, rng) if directions is None else np.asarray(directions)
    if theta.shape[0] != xf.shape[1]:
        raise ValueError(f"directions of length {theta.shape[0]} for vectors of length {xf.shape[1]}")
    px, py = xf @ theta, yf @ theta

    def stat(a, b):
        return float(np.mean(_w_sorted(np.sort(a, axis=0), np.sort(b, axis=0), p)) ** (1.0 / p))

    v, lo, hi = bootstrap_ci(stat, px, py, rng=rng, n_boot=n_boot, level=level, recentre=True)
    return Metric(v, lo, hi, int(xf.shape[0]))


@threadpool_limits.wrap(limits=_BLAS_THREADS, user_api="blas")
def memorisation_metrics(
    nn_dist, reference_nn_dist, *, rng: np.random.Generator, n_boot: int = 200, copy_quantile: float = 0.05,
    level: float = 0.95,
) -> tuple[Metric, Metric]:
    """Nearest-training-image distances of a set against those of real test images.

    Parameters
    ----------
    nn_dist : array_like, shape (n,)
        Distance of each evaluated image to its nearest training image.
    reference_nn_dist : array_like, shape (m,)
        The same for real test images (not used in training).
    rng : numpy.random.Generator
        Draws the bootstrap resamples.
    n_boot : int, default 200
        Resamples.
    copy_quantile : float, default 0.05
        Quantile of the test distances below which an image counts as a near
        copy of a training image.
    level : float, default 0.95
        Interval coverage.

    Returns
    -------
    nn_ratio : Metric
        ``median(nn_dist) / median(reference_nn_dist)``: about 1 for images as
        novel as real unseen faces, well below 1 for memorised training
        images, above 1 for images unlike any training image.
    copy_rate : Metric
        Share of ``nn_dist`` below the ``copy_quantile`` quantile of
        ``reference_nn_dist`` (about ``copy_quantile`` for test-like images);
        its interval resamples both sets, so the threshold's own
        uncertainty is included.
    """
    d = np.asarray(nn_dist, dtype=float)
    r = np.asarray(reference_nn_dist, dtype=float)
    ratio = bootstrap_ci(lambda a, b: np.median(a) / np.median(b), d, r, rng=rng, n_boot=n_boot, level=level)
    # the threshold is itself estimated from the test images: resample both
    # sides so its uncertainty is part of the interval
    rate = bootstrap_ci(lambda a, b: np.mean(a < np.quantile(b, copy_quantile)), d, r, rng=rng,
                        n_boot=n_boot, level=level)
    return Metric(*ratio, int(d.size)), Metric(*rate, int(d.size))


@threadpool_limits.wrap(limits=_BLAS_THREADS, user_api="blas")
def latent_radius_metric(
    samples, stats, reference, *, rng: np.random.Generator, n_boot: int = 200, level: float = 0.95
) -> Metric:
    """Wasserstein-1 distance between Mahalanobis radii of samples and real latents.

    Parameters
    ----------
    samples : array_like, shape (n, D)
        z-vectors of a sampler.
    stats : lsreport.sampling.LatentStats
        Statistics of the real latents (defines the radius).
    reference : array_like, shape (m, D)
        Real latent vectors (e.g. of test images).
    rng : numpy.random.Generator
        Draws the bootstrap resamples.
    n_boot : int, default 200
        Resamples.
    level : float, default 0.95
        Interval coverage.

    Returns
    -------
    Metric
        In radius units; 0 when the sampler puts its vectors at the same
        distances from the centre as the real latents.
    """
    from scipy.stats import wasserstein_distance

    rs = stats.mahalanobis(samples)
    rr = stats.mahalanobis(reference)
    v, lo, hi = bootstrap_ci(wasserstein_distance, rs, rr, rng=rng, n_boot=n_boot, level=level, recentre=True)
    return Metric(v, lo, hi, int(rs.size))


def prdc_metrics(x, y, *, nearest_k: int = PRDC_K) -> dict[str, Metric]:
    """Precision, recall, density and coverage of set ``x`` against real set ``y``.

    Parameters
    ----------
    x : array_like, shape (n, p)
        Features of the evaluated set (e.g. face descriptors of generated faces).
    y : array_like, shape (m, p)
        Features of real faces.
    nearest_k : int, default 5
        Neighbours that define the k-NN balls of each manifold.

    Returns
    -------
    dict
        ``{"precision", "recall", "density", "coverage"}`` -> :class:`Metric`
        without interval (a bootstrap with replacement would put duplicates
        at distance 0 and break the k-NN balls); NaN values when a set has
        fewer than ``nearest_k + 2`` points.

    Notes
    -----
    Computed with the PyPI package ``prdc`` (Naeem et al.). Precision: share
    of ``x`` inside some real point's k-NN ball (realistic); recall: share
    of ``y`` inside some ``x`` point's ball (variety); density: the average
    number of real balls an ``x`` point falls in, over k (1 for a set like
    the real one, robust to real outliers); coverage: share of real points
    whose ball holds an ``x`` point.

    References
    ----------
    .. [1] T. Kynkäänniemi, T. Karras, S. Laine, J. Lehtinen, T. Aila,
       "Improved precision and recall metric for assessing generative
       models", NeurIPS 2019.
    .. [2] M. F. Naeem, S. J. Oh, Y. Uh, Y. Choi, J. Yoo, "Reliable fidelity
       and diversity metrics for generative models", ICML 2020.
    """
    import contextlib
    import io

    from prdc import compute_prdc

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    keys = ("precision", "recall", "density", "coverage")
    nan = float("nan")
    if min(x.shape[0], y.shape[0]) < nearest_k + 2:  # prdc's k-th neighbour search needs k + 2 rows
        return {k: Metric(nan, nan, nan, int(x.shape[0])) for k in keys}
    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the set sizes
        out = compute_prdc(real_features=y, fake_features=x, nearest_k=int(nearest_k))
    return {k: Metric(float(out[k]), nan, nan, int(x.shape[0])) for k in keys}


def paired_replicates(sets: Mapping[str, object], reference, *, rng: np.random.Generator,
                      n_boot: int = 200) -> dict[str, np.ndarray]:
    """Bootstrap replicates of the Fréchet distance of several sets to one reference, paired.

    In replicate ``b`` the reference is resampled once (with replacement) and
    shared by all sets; each set is resampled on its own. The difference of
    two sets' replicates then carries the uncertainty of both sets and of
    the common reference, without counting the reference twice.

    Parameters
    ----------
    sets : mapping
        ``{name: features (n_i, p)}``.
    reference : array_like, shape (m, p)
        Features of the real reference.
    rng : numpy.random.Generator
        Draws the resamples.
    n_boot : int, default 200
        Replicates.

    Returns
    -------
    dict
        ``{name: ndarray (n_boot,)}``; NaN for a set with fewer than 2 rows.
    """
    y = np.asarray(reference, dtype=np.float64)
    xs = {k: np.asarray(v, dtype=np.float64) for k, v in sets.items()}
    out = {k: np.full(int(n_boot), np.nan) for k in xs}
    with threadpool_limits(limits=_BLAS_THREADS, user_api="blas"):
        for b in range(int(n_boot)):
            mu_r, c_r = fit_gaussian(y[rng.integers(0, y.shape[0], y.shape[0])])
            for k, x in xs.items():
                if x.shape[0] >= 2:
                    out[k][b] = _frechet_eigh(*fit_gaussian(x[rng.integers(0, x.shape[0], x.shape[0])]), mu_r, c_r)
    return out


def difference_interval(rep_a, rep_b, value_a: float, value_b: float, *,
                        level: float = 0.95) -> tuple[float, float, float]:
    """Interval of the difference of two distances to the same reference.

    Parameters
    ----------
    rep_a, rep_b : array_like, shape (n_boot,)
        Paired replicates (:func:`paired_replicates`).
    value_a, value_b : float
        Point estimates.
    level : float, default 0.95
        Coverage.

    Returns
    -------
    difference, low, high : float
        ``value_a - value_b`` and the percentile interval of the replicate
        differences, shifted so that their median is the point difference
        (resampling with replacement inflates both distances; the shift
        removes what is common to both). A difference whose interval
        excludes 0 is clear.
    """
    d = np.asarray(rep_a, dtype=float) - np.asarray(rep_b, dtype=float)
    d = d[np.isfinite(d)]
    diff = float(value_a) - float(value_b)
    if d.size == 0:
        return diff, float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(d, [alpha, 1.0 - alpha])
    shift = float(np.median(d)) - diff
    return diff, float(lo - shift), float(hi - shift)


# ----------------------------------------------------------------- reference


@dataclass(frozen=True)
class PixelPCA:
    """A fixed PCA of pixel vectors (images scaled to [0, 1]).

    Attributes
    ----------
    mean : ndarray, shape (P,)
        Mean pixel vector.
    components : ndarray, shape (k, P)
        Principal axes (rows).
    explained_variance_ratio : ndarray, shape (k,)
        Share of the pixel variance per component.
    image_shape : tuple
        ``(H, W, 3)`` of the images it was fitted on.
    """

    mean: np.ndarray = field(repr=False)
    components: np.ndarray = field(repr=False)
    explained_variance_ratio: np.ndarray
    image_shape: tuple

    @classmethod
    def fit(cls, images, n_components: int = 64, *, seed: int = 0) -> PixelPCA:
        """Fit on real images (randomised SVD with a fixed ``random_state``)."""
        from sklearn.decomposition import PCA

        imgs = to_uint8(images)
        x = _as_features(imgs)
        if n_components > min(x.shape):
            raise ValueError(
                f"cannot fit {n_components} PCA components to {x.shape[0]} images of {x.shape[1]} values"
            )
        with threadpool_limits(limits=_BLAS_THREADS, user_api="blas"):
            pca = PCA(n_components=n_components, svd_solver="randomized", random_state=seed).fit(x)
        return cls(pca.mean_.astype(np.float32), pca.components_.astype(np.float32),
                   pca.explained_variance_ratio_, tuple(imgs.shape[1:]))

    def transform(self, images) -> np.ndarray:
        """PCA coordinates, shape ``(N, k)``."""
        imgs = to_uint8(images)
        if tuple(imgs.shape[1:]) != self.image_shape:
            raise ValueError(f"images of shape {imgs.shape[1:]}, the PCA was fitted on {self.image_shape}")
        out = np.empty((imgs.shape[0], self.components.shape[0]), np.float64)
        for a in range(0, imgs.shape[0], 2048):
            out[a : a + 2048] = (_as_features(imgs[a : a + 2048]) - self.mean) @ self.components.T
        return out


@dataclass(frozen=True)
class ReferenceSet:
    """Everything precomputed about the real images once, reused for every set.

    Build with :func:`prepare_reference`.

    Attributes
    ----------
    images : ndarray, uint8, shape (m, H, W, 3)
        Real test images (not used in training).
    faces : FaceAnalysis
        dlib analysis of :attr:`images`.
    pca : PixelPCA
        Fixed pixel PCA (fitted on the training images).
    features : ndarray, shape (m, k)
        PCA coordinates of :attr:`images`.
    train_features : ndarray, shape (t, k)
        PCA coordinates of the training images.
    nn_dist : ndarray, shape (m,)
        Distance of each test image to its nearest training image in the PCA
        space.
    """

    images: np.ndarray = field(repr=False)
    faces: FaceAnalysis = field(repr=False)
    pca: PixelPCA = field(repr=False)
    features: np.ndarray = field(repr=False)
    train_features: np.ndarray = field(repr=False)
    nn_dist: np.ndarray = field(repr=False)

    @property
    def n(self) -> int:
        """Number of reference images."""
        return int(self.images.shape[0])


def prepare_reference(
    reference,
    train,
    *,
    n_components: int = 64,
    seed: int = 0,
    max_descriptors: int | None = 400,
    n_jobs: int = 2,
    backend: str = "process",
    cache: MutableMapping | None = None,
    executor=None,
    faces=None,
) -> ReferenceSet:
    """Precompute the reference side of all metrics.

    Parameters
    ----------
    reference : array_like
        Real test images (never seen in training), uint8 or float in [0, 1].
    train : array_like
        Training images, same size (for the PCA and the memorisation test).
    n_components : int, default 64
        Components of the pixel PCA.
    seed : int, default 0
        ``random_state`` of the PCA.
    max_descriptors, n_jobs, backend, cache, executor
        See :func:`analyse_faces`.
    faces : FaceAnalysis or FaceJob, optional
        dlib's analysis of ``reference`` if already made or queued
        (:func:`submit_faces`); the pixel PCA is then fitted while the pool
        works.

    Returns
    -------
    ReferenceSet
    """
    ref = to_uint8(reference)
    tr = to_uint8(train)
    if ref.shape[1:] != tr.shape[1:]:
        raise ValueError(f"reference images {ref.shape[1:]} and training images {tr.shape[1:]} differ in size")
    if faces is None:
        faces = analyse_faces(ref, max_descriptors=max_descriptors, n_jobs=n_jobs, backend=backend, cache=cache,
                              executor=executor)
    with threadpool_limits(limits=_BLAS_THREADS, user_api="blas"):
        pca = PixelPCA.fit(tr, n_components, seed=seed)
        feats, train_feats = pca.transform(ref), pca.transform(tr)
        nn, _ = nearest_neighbour_distances(feats, train_feats)
    faces = _result_of(faces)
    if faces.n != ref.shape[0]:
        raise ValueError(f"faces= holds the analysis of {faces.n} images, the reference has {ref.shape[0]}")
    return ReferenceSet(ref, faces, pca, feats, train_feats, nn)


# ----------------------------------------------------------------- reports


@dataclass(frozen=True)
class QualityReport:
    """All metrics of one image set (one table row).

    Attributes
    ----------
    n : int
        Number of images.
    detection_rate, face_frechet, pixel_frechet, sliced_wasserstein, nn_ratio, copy_rate : Metric
        See the module docstring.
    latent_radius_w1 : Metric or None
        Only when latents were given.
    precision, recall, density, coverage : Metric or None
        :func:`prdc_metrics` on the face descriptors (None when either side
        has no descriptors).
    """

    n: int
    detection_rate: Metric
    face_frechet: Metric
    pixel_frechet: Metric
    sliced_wasserstein: Metric
    nn_ratio: Metric
    copy_rate: Metric
    latent_radius_w1: Metric | None = None
    precision: Metric | None = None
    recall: Metric | None = None
    density: Metric | None = None
    coverage: Metric | None = None

    def metrics(self) -> dict[str, Metric]:
        """The metrics by key (those present)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "n" and getattr(self, f.name) is not None}

    def to_records(self, image_set: str) -> list[dict]:
        """Tidy rows ``image_set, metric, value, ci_low, ci_high, n``."""
        return [
            {"image_set": image_set, "metric": k, "value": m.value, "ci_low": m.ci_low,
             "ci_high": m.ci_high, "n": m.n}
            for k, m in self.metrics().items()
        ]


@threadpool_limits.wrap(limits=_BLAS_THREADS, user_api="blas")
def _report(imgs, faces, reference, *, rng, n_boot, n_boot_distance, n_projections, latents, latent_stats,
            latent_reference, directions=None):
    if imgs.shape[1:] != reference.images.shape[1:]:
        raise ValueError(f"images {imgs.shape[1:]} and reference {reference.images.shape[1:]} differ in size")
    det = rate_metric(faces.detected, rng=rng, n_boot=n_boot)
    prdc = {}
    if faces.descriptors.shape[0] >= 2 and reference.faces.descriptors.shape[0] >= 2:
        face_fd = frechet_metric(faces.descriptors, reference.faces.descriptors, rng=rng, n_boot=n_boot_distance)
        prdc = prdc_metrics(faces.descriptors, reference.faces.descriptors)
    else:
        face_fd = Metric(float("nan"), float("nan"), float("nan"), int(faces.descriptors.shape[0]))
    feats = reference.pca.transform(imgs)
    pix_fd = frechet_metric(feats, reference.features, rng=rng, n_boot=n_boot_distance)
    sw = sliced_wasserstein_metric(imgs, reference.images, rng=rng, n_projections=n_projections,
                                   n_boot=n_boot_distance, directions=directions)
    nn, _ = nearest_neighbour_distances(feats, reference.train_features)
    ratio, copy = memorisation_metrics(nn, reference.nn_dist, rng=rng, n_boot=n_boot)
    lat = None
    if latents is not None:
        if latent_stats is None or latent_reference is None:
            raise ValueError("latents need latent_stats and latent_reference as well")
        lat = latent_radius_metric(latents, latent_stats, latent_reference, rng=rng, n_boot=n_boot)
    return QualityReport(int(imgs.shape[0]), det, face_fd, pix_fd, sw, ratio, copy, lat, **prdc)


def evaluate_images(
    images,
    reference,
    train=None,
    *,
    rng: np.random.Generator,
    latents=None,
    latent_stats=None,
    latent_reference=None,
    n_boot: int = 200,
    n_boot_distance: int = 100,
    n_projections: int = 256,
    max_descriptors: int | None = 400,
    n_jobs: int = 2,
    backend: str = "process",
    cache: MutableMapping | None = None,
    executor=None,
) -> QualityReport:
    """All metrics of one set of (generated) images against real ones.

    Parameters
    ----------
    images : array_like
        ``(N, H, W, 3)`` uint8, or float in ``[0, 1]`` as the decoder gives.
    reference : ReferenceSet or array_like
        Real test images, best prepared once with :func:`prepare_reference`;
        raw images are prepared here (then ``train`` is required).
    train : array_like, optional
        Training images; only with raw ``reference``.
    rng : numpy.random.Generator
        Draws the bootstrap resamples and the sliced-Wasserstein directions.
    latents, latent_stats, latent_reference : optional
        The z-vectors the images were decoded from, the
        :class:`~lsreport.sampling.LatentStats` of the real latents and real
        latent vectors: adds :func:`latent_radius_metric`.
    n_boot : int, default 200
        Resamples for rates and ratios.
    n_boot_distance : int, default 100
        Resamples for the Fréchet and Wasserstein distances.
    n_projections : int, default 256
        Directions of the sliced Wasserstein distance.
    max_descriptors, n_jobs, backend, cache, executor
        See :func:`analyse_faces`.

    Returns
    -------
    QualityReport

    References
    ----------
    .. [1] D. E. King, "Dlib-ml: A machine learning toolkit", JMLR 10, 2009.
    .. [2] M. Heusel et al., NeurIPS 2017 (Fréchet distance of embeddings).
    .. [3] P. Ghosh et al., "From variational to deterministic autoencoders",
       ICLR 2020 (FID of samples of deterministic autoencoders).
    """
    ref = _as_reference(reference, train, max_descriptors=max_descriptors, n_jobs=n_jobs, backend=backend,
                        cache=cache, executor=executor)
    imgs = to_uint8(images)
    faces = analyse_faces(imgs, max_descriptors=max_descriptors, n_jobs=n_jobs, backend=backend, cache=cache,
                          executor=executor)
    return _report(imgs, faces, ref, rng=rng, n_boot=n_boot, n_boot_distance=n_boot_distance,
                   n_projections=n_projections, latents=latents, latent_stats=latent_stats,
                   latent_reference=latent_reference)


def _as_reference(reference, train, **kw) -> ReferenceSet:
    if isinstance(reference, ReferenceSet):
        if train is not None:
            warnings.warn("train is ignored: the ReferenceSet already holds the training features",
                          stacklevel=3)
        return reference
    if train is None:
        raise ValueError("raw reference images need the training images too (train=...)")
    return prepare_reference(reference, train, **kw)


def quality_table(
    image_sets: Mapping[str, object],
    reference,
    train=None,
    *,
    rng: np.random.Generator,
    latents: Mapping[str, object] | None = None,
    latent_stats=None,
    latent_reference=None,
    include_reference: bool = True,
    n_boot: int = 200,
    n_boot_distance: int = 100,
    n_projections: int = 256,
    max_descriptors: int | None = 400,
    n_jobs: int = 2,
    backend: str = "process",
    cache: MutableMapping | None = None,
    executor=None,
    faces: Mapping[str, object] | None = None,
    reference_faces=None,
):
    """Metrics of several named image sets as a tidy DataFrame.

    The dlib work of all sets runs in one worker pool (one start-up). It is
    queued set by set before anything else, so that the pixel PCA of the
    reference and the pixel metrics of each set are computed in this process
    while the workers analyse the next sets.

    Parameters
    ----------
    image_sets : mapping
        ``{name: images}``, e.g. one decoded set per sampler.
    reference, train
        See :func:`evaluate_images`.
    rng : numpy.random.Generator
        Parent generator; each set gets its own child stream.
    latents : mapping, optional
        ``{name: z-vectors}`` for (some of) the sets; with ``latent_stats``
        and ``latent_reference`` adds the latent radius metric.
    include_reference : bool, default True
        Add a row set ``"real (test)"`` holding the detection rate of the real
        test images: the ceiling a generator can reach.
    n_boot, n_boot_distance, n_projections, max_descriptors, n_jobs, backend, cache, executor
        See :func:`evaluate_images` and :func:`analyse_faces`.
    faces : mapping, optional
        ``{name: FaceAnalysis or FaceJob}``: dlib analyses of (some of) the
        sets already made or queued with :func:`submit_faces` (same
        ``max_descriptors``); the others are analysed here.
    reference_faces : FaceAnalysis or FaceJob, optional
        The same for raw ``reference`` images.

    Returns
    -------
    pandas.DataFrame
        Columns ``image_set, metric, value, ci_low, ci_high, n``, one row per
        set and metric.
    """
    import pandas as pd

    names = list(image_sets)
    sets = [to_uint8(image_sets[k]) for k in names]
    if len({s.shape[1:] for s in sets}) > 1:
        raise ValueError("all image sets must have the same image size")
    if backend not in ("process", "thread"):
        raise ValueError(f"backend must be 'process' or 'thread'; got {backend!r}")
    given = dict(faces or {})
    raw_reference = not isinstance(reference, ReferenceSet)
    if raw_reference and train is None:
        raise ValueError("raw reference images need the training images too (train=...)")
    pool = own_pool = None
    if executor is not None:
        pool = executor
    elif int(n_jobs) > 1:
        pool = own_pool = face_pool(n_jobs) if backend == "process" else ThreadPoolExecutor(int(n_jobs))
    jobs: dict[str, object] = {}
    try:
        # queue all dlib work first: the reference, then each set (sets with
        # identical content are analysed once); cache hits come back finished
        if raw_reference and reference_faces is None:
            reference_faces = submit_faces(reference, executor=pool, max_descriptors=max_descriptors,
                                           n_jobs=n_jobs, cache=cache)
        by_key: dict[str, object] = {}
        for k, s in zip(names, sets):
            if k in given:
                jobs[k] = given[k]
                continue
            key = _faces_key(s, _descriptor_subset(s.shape[0], max_descriptors), 128)
            if key not in by_key:
                by_key[key] = submit_faces(s, executor=pool, max_descriptors=max_descriptors, n_jobs=n_jobs,
                                           cache=cache)
            jobs[k] = by_key[key]
        if raw_reference:
            ref = prepare_reference(reference, train, max_descriptors=max_descriptors, faces=reference_faces)
        else:
            ref = _as_reference(reference, train)
        rows = _table_rows(names, sets, jobs, ref, rng=rng, latents=latents or {}, latent_stats=latent_stats,
                           latent_reference=latent_reference, include_reference=include_reference,
                           n_boot=n_boot, n_boot_distance=n_boot_distance, n_projections=n_projections)
    except BaseException:
        for job in [*jobs.values(), reference_faces]:
            if isinstance(job, FaceJob):
                job.cancel()
        raise
    finally:
        if own_pool is not None:
            own_pool.shutdown(wait=True, cancel_futures=True)
    return pd.DataFrame(rows, columns=["image_set", "metric", "value", "ci_low", "ci_high", "n"])


def _table_rows(names, sets, jobs, ref, *, rng, latents, latent_stats, latent_reference, include_reference,
                n_boot, n_boot_distance, n_projections) -> list:
    # one set of sliced-Wasserstein directions for all sets: a shared yardstick
    directions = _directions(int(np.prod(ref.images.shape[1:])), n_projections, rng)
    children = rng.spawn(len(names) + 1)
    rows = []
    for (k, s), child in zip(zip(names, sets), children):
        # waits for this set's dlib analysis only; the pool goes on with the next sets
        rep = _report(s, _result_of(jobs[k]), ref, rng=child, n_boot=n_boot, n_boot_distance=n_boot_distance,
                      n_projections=n_projections, latents=latents.get(k), latent_stats=latent_stats,
                      latent_reference=latent_reference, directions=directions)
        rows += rep.to_records(k)
    if include_reference:
        m = rate_metric(ref.faces.detected, rng=children[-1], n_boot=n_boot)
        rows.append({"image_set": "real (test)", "metric": "detection_rate", "value": m.value,
                     "ci_low": m.ci_low, "ci_high": m.ci_high, "n": m.n})
    return rows


def _mp_context():
    # forkserver: workers fork from a clean server process (safe after TensorFlow
    # has started threads, unlike fork) that has this module imported once
    # (faster than spawn); spawn where forkserver does not exist
    import multiprocessing as mp

    try:
        ctx = mp.get_context("forkserver")
    except ValueError:
        return mp.get_context("spawn")
    ctx.set_forkserver_preload([__name__])
    return ctx


def face_pool(n_jobs: int = 2) -> ProcessPoolExecutor:
    """A process pool for :func:`analyse_faces` (``executor=``), to start once and reuse.

    Use it as a context manager; each worker builds its dlib models on its first
    task (1-2 s) and keeps them.

    Examples
    --------
    >>> with face_pool(2) as pool:  # doctest: +SKIP
    ...     a = analyse_faces(images_a, executor=pool)
    ...     b = analyse_faces(images_b, executor=pool)
    """
    return _FacePool(max_workers=max(1, int(n_jobs)), mp_context=_mp_context(), initializer=_worker_init)


#: Niceness added to the dlib workers: the pipeline process (the mixture fit
#: with its BLAS threads, TensorFlow decoding, the pixel metrics) runs first
#: and the workers take the remaining CPU time. BLAS threads that wait for a
#: busy core spin: on the shared 2-core machine the 10-component mixture fit
#: of the default profile took 157 s of CPU time with two BLAS threads
#: against 35 s with one (its numbers depend on the thread count, so the
#: fit keeps its threads and gets the cores first instead).
_WORKER_NICE = 10


def _worker_init() -> None:
    try:
        os.nice(_WORKER_NICE)
    except OSError:  # not permitted: run at the parent's priority
        pass
    # A dlib built with BLAS (see the README) runs its face network through
    # that BLAS; one thread per worker, since the pool already has a worker
    # per core. The dlib-bin wheel has no BLAS, so this changes nothing there,
    # and the parent process keeps its own thread count (its numbers depend on it).
    try:
        import dlib  # noqa: F401  (loads the BLAS it links, if any)
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
    except ImportError:  # pragma: no cover
        pass


class _FacePool(ProcessPoolExecutor):
    # leaving the block on an error (or Ctrl-C) drops the queued chunks
    # instead of analysing all of them first
    def __exit__(self, exc_type, exc_val, exc_tb):
        self.shutdown(wait=True, cancel_futures=exc_type is not None)
        return False


def _tasks(imgs, want, *, n_jobs, chunk_size=None, upsample_to=128) -> list:
    n = imgs.shape[0]
    chunk = int(chunk_size) if chunk_size else max(1, -(-n // (4 * max(1, int(n_jobs)))))
    return [(imgs[a : a + chunk], want[a : a + chunk], int(upsample_to)) for a in range(0, n, chunk)]


def _combine(results, want, upsample_to) -> FaceAnalysis:
    if not results:
        results = [(np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 4), np.int64), np.zeros((0, 128), np.float32))]
    n_faces, score, box, desc = (np.concatenate(p) for p in zip(*results))
    return FaceAnalysis(n_faces > 0, n_faces, score, box, desc, np.nonzero(want)[0], int(upsample_to))


def _analyse_masked(imgs, want, *, n_jobs, backend, chunk_size=None, upsample_to=128,
                    executor=None) -> FaceAnalysis:
    # the work of analyse_faces with an explicit descriptor mask
    if backend not in ("process", "thread"):
        raise ValueError(f"backend must be 'process' or 'thread'; got {backend!r}")
    n_jobs = max(1, int(n_jobs))
    tasks = _tasks(imgs, want, n_jobs=n_jobs, chunk_size=chunk_size, upsample_to=upsample_to)
    if executor is not None:
        results = list(executor.map(_analyse_chunk, tasks))
    elif n_jobs == 1 or len(tasks) <= 1:
        results = [_analyse_chunk(t) for t in tasks]
    elif backend == "process":
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=_mp_context(), initializer=_worker_init) as ex:
            results = list(ex.map(_analyse_chunk, tasks))
    else:
        with ThreadPoolExecutor(max_workers=n_jobs) as ex:
            results = list(ex.map(_analyse_chunk, tasks))
    return _combine(results, want, upsample_to)


def wide_table(df, *, digits: int = 3):
    """Pivot a tidy metric table to one row per set, cells ``value [low, high]``."""
    cell = df.apply(
        lambda r: f"{r.value:.{digits}g} [{r.ci_low:.{digits}g}, {r.ci_high:.{digits}g}]", axis=1
    )
    out = df.assign(cell=cell).pivot(index="image_set", columns="metric", values="cell")
    order = [k for k in METRICS if k in out.columns]
    return out.reindex(index=list(dict.fromkeys(df.image_set)), columns=order).fillna("")
