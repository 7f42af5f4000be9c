"""Exception hierarchy: one root, each subclass also inherits the matching builtin."""

from __future__ import annotations


class StreamcdError(Exception):
    """Root of every error streamcd raises on purpose."""


class ConfigError(StreamcdError, ValueError):
    """A pipeline configuration is invalid; the message names the key, line and allowed values."""


class SourceError(StreamcdError, IOError):
    """A source cannot be opened or read."""


class SourceTimeoutError(SourceError, TimeoutError):
    """A network source did not answer within its open or read timeout."""


class SinkError(StreamcdError, IOError):
    """A sink cannot write its output."""


class ModelError(StreamcdError, RuntimeError):
    """The change model cannot be loaded or run."""


class ProviderError(ModelError):
    """The requested ONNX Runtime execution provider is not available."""


class BackgroundError(StreamcdError, RuntimeError):
    """The background manager was called out of order (e.g. ``prepare`` before it is ready)."""


class DatasetError(StreamcdError, ValueError):
    """A dataset folder (CDnet layout) is missing files or holds invalid values."""


class ClusterError(StreamcdError, RuntimeError):
    """Ray is missing, or the cluster cannot be reached."""


class BaselineUnavailableError(ConfigError):
    """A bench method's optional library is not installed (the message says how to install it)."""


class WorkerError(StreamcdError, RuntimeError):
    """A bench job failed in its worker (process or Ray task); the message carries its error."""


class PlotDependencyError(StreamcdError, ImportError):
    """matplotlib, needed for the bench report's plots, is missing."""


class UploadLayoutError(DatasetError):
    """A results folder or zip does not follow the changedetection.net upload layout."""


class ServeError(StreamcdError, OSError):
    """The live-view HTTP server cannot start (address in use, no permission to bind)."""


#: Attribute set (``extra={REPORTED: True}``) on the log record of an error that is also handed
#: back to the caller (``StreamReport.error``): a front end that prints those errors itself, as
#: the CLI does, filters the record off its console so the message is shown once.
REPORTED = "streamcd_reported"
