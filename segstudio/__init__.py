"""segstudio: annotate, train and review U-Net-family segmentation models in one window."""
__version__ = "0.1.0"
