"""Experiments: plans over a grid of training runs, their queue, held-out evaluation and results."""
