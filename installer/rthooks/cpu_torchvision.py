"""Runtime hook of the CPU bundle: lets PyPI's CUDA build of torchvision import on top of CPU torch.

torchvision's C++ ops library (``torchvision/_C.so``: nms, roi_align...) is linked against libtorch_cuda, which
the CPU bundle does not have, so it does not load (torchvision then reports ``_has_ops() == False``, as it is
designed to).  torchvision's Python side nevertheless registers fake kernels for ``torchvision::nms`` and
``torchvision::qnms`` unconditionally, and that fails with "operator torchvision::nms does not exist".  This
hook declares the two schemas just before torchvision is first imported, when torch is a CPU build, so that
``import torchvision`` works.  segstudio uses ``torchvision.models`` (pure Python) and none of the C++ ops.
torch is imported only when torchvision is, never at start-up.  The spec adds this hook only when it bundles
CPU torch with a CUDA build of torchvision.
"""
import importlib.abc
import sys

_keep = []  # a torch.library.Library un-registers its definitions when collected


class _DeclareTorchvisionOps(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "torchvision":
            return None
        sys.meta_path.remove(self)
        import torch

        if torch.version.cuda is None and not torch._C._dispatch_has_kernel("torchvision::nms"):
            lib = torch.library.Library("torchvision", "DEF")
            lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            _keep.append(lib)
        return None  # the ordinary finders import torchvision


sys.meta_path.insert(0, _DeclareTorchvisionOps())
