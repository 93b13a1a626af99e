"""Interactive (prompted) segmentation, Qt-free: box -> mask, click refinement, magic wand, edge snapping.

See docs/assist.md.  Everything works offline on the CPU: GrabCut needs no model; the ``model`` method uses
the project's own trained checkpoint; plugins may register more methods in :data:`METHODS`.
"""
from .grabcut import GrabCut
from .interaction import Interaction
from .methods import METHODS, make_method, method_names
from .model import ModelMismatchError, ModelPrior, class_index
from .prompts import Box, Click, PromptError, check_click, check_not_blank, make_box, to_rgb8
from .regions import fill_holes, largest_error_click, select_components
from .scissors import EdgeSnapper, scissors_available, simplify_path
from .shapes import SHAPE_MODES, mask_to_object_shapes
from .wand import DEFAULT_TOLERANCE, magic_wand, view_box

__all__ = [
    "Box", "Click", "PromptError", "make_box", "check_click", "check_not_blank", "to_rgb8",
    "GrabCut", "Interaction", "METHODS", "make_method", "method_names",
    "ModelPrior", "ModelMismatchError", "class_index",
    "fill_holes", "select_components", "largest_error_click",
    "EdgeSnapper", "scissors_available", "simplify_path",
    "SHAPE_MODES", "mask_to_object_shapes", "DEFAULT_TOLERANCE", "magic_wand", "view_box",
]
