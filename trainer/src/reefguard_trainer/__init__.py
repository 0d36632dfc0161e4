"""ReefGuard trainer: training sets from the offline store to a calibrated ONNX ensemble."""

__version__ = "0.1.0"
