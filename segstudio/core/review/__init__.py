"""Review: predict images, score the predictions against the annotations, and draw them (Qt-free)."""
