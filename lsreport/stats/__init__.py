"""Statistics of the latent cloud: is it roughly multivariate normal?

Compute only; the drawing lives in :mod:`lsreport.plots.stats`. One module
per question:

* :mod:`.components` — per-component histograms and Gaussian fits;
* :mod:`.goodness` — univariate normality tests, subsample tests, QQ data;
* :mod:`.correlation` — Pearson matrix, ordering, strongest pairs, linearity;
* :mod:`.kde` — 2-D FFT kernel density estimates and probability contours;
* :mod:`.ellipses` — confidence ellipses and their coverage;
* :mod:`.pca` — covariance, eigen-decomposition, whitening;
* :mod:`.normality` — Mahalanobis distances vs chi2, Mardia, Henze–Zirkler;
* :mod:`.geometry` — centre, radii, uniform box samples vs the cloud;
* :mod:`.analysis` — :func:`analyse`, everything in one call;
* :mod:`.verdict` — words for the text, computed from the numbers.

References
----------
.. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
   dimensionality", blog series, linux-blog.anracom.com (2023).
"""

from . import analysis as _analysis
from . import components as _components
from . import correlation as _correlation
from . import ellipses as _ellipses
from . import geometry as _geometry
from . import goodness as _goodness
from . import kde as _kde
from . import normality as _normality
from . import pca as _pca
from . import verdict as _verdict
from .analysis import *  # noqa: F401,F403
from .components import *  # noqa: F401,F403
from .correlation import *  # noqa: F401,F403
from .ellipses import *  # noqa: F401,F403
from .geometry import *  # noqa: F401,F403
from .goodness import *  # noqa: F401,F403
from .kde import *  # noqa: F401,F403
from .normality import *  # noqa: F401,F403
from .pca import *  # noqa: F401,F403
from .verdict import *  # noqa: F401,F403

__all__ = [
    name
    for _mod in (_analysis, _components, _correlation, _ellipses, _geometry,
                 _goodness, _kde, _normality, _pca, _verdict)
    for name in _mod.__all__
]
