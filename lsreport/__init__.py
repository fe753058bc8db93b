"""lsreport: the latent space of a plain convolutional autoencoder on faces.

The package behind the research book: data sources, the Keras autoencoder,
statistics of the latent cloud, samplers and independent face metrics.
Chapters call :mod:`lsreport.book`; the command line is :mod:`lsreport.cli`.
"""

from . import _tf

# Before anything imports TensorFlow: no C++ log lines on the console.
_tf.install()

__version__ = "0.1.0"

__all__ = ["__version__"]
