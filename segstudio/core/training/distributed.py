"""Data-parallel training over several processes with PyTorch's own engine (``torch.distributed``, torchrun).

A run started by ``torchrun`` (it sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``...) with more
than one process joins the process group (NCCL on GPUs, gloo on the CPU; :func:`setup`).  Every process then
builds the same model (same seed), trains it wrapped in ``DistributedDataParallel`` (gradients averaged), on its
share of each epoch's shuffled order (``DistributedSampler``, seeded by the run's seed, ``set_epoch`` every
epoch), with batch norm synchronised over the processes.  Validation shards the images exactly (no padding
duplicates) and sums the confusion matrices, so N processes report the numbers one process would.
Only rank 0 writes files and yields the events besides ``Finished``/``Failed``; decisions that depend on a
clock or a signal (cancel, time budget) are agreed on by all processes, so they stop at the same batch.

Without torchrun (or with one process) :func:`setup` returns :data:`SINGLE`, whose methods do nothing but
return the local values: the engine has one code path.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, List, NoReturn, Optional

import torch
import torch.distributed as dist
from torch.nn.modules.batchnorm import _BatchNorm

#: the variables torchrun sets for every process it starts
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
#: the DistributedSampler's seed is ``seed * SEED_FACTOR`` (+ epoch): the order a one-process run always used
SEED_FACTOR = 100003


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def env_world_size() -> int:
    """Processes of the run as torchrun says (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1")) if launched_by_torchrun() else 1


def env_rank() -> int:
    return int(os.environ.get("RANK", "0")) if launched_by_torchrun() else 0


def local_world_size() -> int:
    """Processes of the run on this machine (to share its CPU cores)."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if launched_by_torchrun() else 1


@dataclass
class Dist:
    """This process's place in the run; collectives are no-ops with one process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""
    owns_group: bool = False        # this Dist initialised the process group (close() destroys it)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ------------------------------------------------------------------ devices and models
    def device(self, device: torch.device) -> torch.device:
        """The device of this process: ``cuda:LOCAL_RANK`` for a CUDA run of several processes."""
        if self.enabled and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def _comm_device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``DistributedDataParallel(model)`` (the module to train through); ``model`` itself with one process.

        Built over the parameters that require gradients now: the engine wraps again when a frozen encoder
        thaws."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids, output_device=device.index if ids else None)

    # ------------------------------------------------------------------ data
    def train_order(self, n: int, seed: int, epoch: int) -> List[int]:
        """This process's share of epoch ``epoch``'s shuffled order of ``n`` training items.

        torch's ``DistributedSampler`` (``drop_last``: every process gets ``n // world_size`` items, no
        duplicates) seeded with ``seed * SEED_FACTOR``, ``set_epoch(epoch)``; rank r gets items r, r + N, ...
        of the permutation, so the processes' k-th batches together are the k-th batch of one process with
        N times the batch size.  With one process: the whole permutation."""
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(range(n), num_replicas=self.world_size, rank=self.rank, shuffle=True,
                                     seed=seed * SEED_FACTOR, drop_last=True)
        sampler.set_epoch(epoch)
        return list(sampler)

    def shard(self, n: int) -> List[int]:
        """This process's validation items: ``rank, rank + N, ...`` (exact shards, nothing repeated)."""
        return list(range(self.rank, n, self.world_size))

    # ------------------------------------------------------------------ collectives
    def any(self, flag: bool) -> bool:
        """True on every process when ``flag`` is true on any (cancel, a failed cache fill)."""
        if not self.enabled:
            return bool(flag)
        t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=self._comm_device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every process (decisions on rank 0's clock, the run folder's name)."""
        if not self.enabled:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0, device=self._comm_device())
        return box[0]

    def gather(self, value: Any) -> List[Any]:
        """Every process's ``value``, by rank (e.g. the generator states for a resumable checkpoint)."""
        if not self.enabled:
            return [value]
        out: List[Any] = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """In-place sum over the processes (validation counts)."""
        if self.enabled:
            moved = tensor.to(self._comm_device())
            dist.all_reduce(moved, op=dist.ReduceOp.SUM)
            tensor.copy_(moved.to(tensor.device))
        return tensor

    def after_step(self, loss: torch.Tensor, images: int, fraction: Optional[float]):
        """``(mean loss over all processes' images, images of all processes, rank 0's time fraction)``.

        One small all-reduce per step: the loss every process reports (and checks for divergence) is the
        same, and every process's schedule follows rank 0's clock, so the learning rates never differ."""
        if not self.enabled:
            return float(loss.item()), int(images), fraction
        main = self.is_main and fraction is not None
        t = torch.tensor([float(loss.item()) * images, float(images), fraction if main else 0.0,
                          1.0 if main else 0.0], dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        total_loss, total_images, frac, has_frac = t.tolist()
        return total_loss / max(total_images, 1.0), int(total_images), frac if has_frac else None

    def close(self) -> None:
        """Leave the process group if this Dist joined it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


SINGLE = Dist()


def end_process(code: int) -> NoReturn:
    """End a process of a torchrun run with ``code`` once its work is done and its files are closed.

    The process leaves without the interpreter's finalisation: with gloo, finalising after
    ``destroy_process_group`` sometimes aborts in a C++ destructor ("terminate called without an active
    exception", SIGABRT, about one run in 25 on a 2-core machine), which turned a finished run into a failed
    one.  Output is flushed first; nothing of the run is left unwritten (the recorder closes its files)."""
    import logging
    import sys

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def setup(device: torch.device) -> Dist:
    """Join torchrun's process group (NCCL for a CUDA ``device``, gloo on the CPU); :data:`SINGLE` when not
    launched by torchrun with more than one process.  Joining an already joined group reuses it."""
    world = env_world_size()
    if world <= 1 or not dist.is_available():
        return SINGLE
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device.type == "cuda"
    if cuda:
        check_gpus(local_world_size())
        torch.cuda.set_device(local_rank)
    owns = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
        owns = True
    return Dist(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank,
                backend=dist.get_backend(), owns_group=owns)


def check_gpus(per_machine: int) -> None:
    """One GPU per process: ConfigError when this machine has fewer GPUs than processes (NCCL refuses two
    processes on one GPU)."""
    gpus = torch.cuda.device_count()
    if per_machine > gpus:
        from segstudio.core.errors import ConfigError

        raise ConfigError(f"{per_machine} training processes on this machine need {per_machine} GPUs, it has "
                          f"{gpus}: start at most {gpus} processes per machine (--nproc / --nproc-per-node)")


# ---------------------------------------------------------------------- batch norm
def has_batchnorm(model: torch.nn.Module) -> bool:
    return any(isinstance(m, _BatchNorm) for m in model.modules())


def sync_batchnorm(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The model with its batch norms computing statistics over all processes' batches.

    ``torch.nn.SyncBatchNorm`` on GPUs; on the CPU (where torch's SyncBatchNorm and DDP refuse to run it) a
    layer of ours computes the statistics with a differentiable all-reduce (:class:`CpuSyncBatchNorm`).
    Parameter and buffer names are those of ``BatchNorm2d``: checkpoints load into the plain model."""
    if device.type != "cpu":
        return torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return _to_cpu_sync(model)


def _to_cpu_sync(module: torch.nn.Module) -> torch.nn.Module:
    out = module
    if isinstance(module, _BatchNorm) and not isinstance(module, CpuSyncBatchNorm):
        out = CpuSyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                               module.track_running_stats)
        if module.affine:
            out.weight, out.bias = module.weight, module.bias        # the same Parameter objects
        out.running_mean, out.running_var = module.running_mean, module.running_var
        out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
    for name, child in module.named_children():
        out.add_module(name, _to_cpu_sync(child))
    return out


class _AllReduceSum(torch.autograd.Function):
    """Sum over the processes; the gradient of each process's input is the sum of the processes' gradients."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


class CpuSyncBatchNorm(_BatchNorm):
    """Batch norm over all processes' batches for CPU tensors (gloo): per-channel sums of x and x² (float64)
    and the element count are summed over the processes by an all-reduce whose backward sums the gradients,
    so each process's gradient is that of the batch norm over the union of the processes' batches (what
    ``torch.nn.SyncBatchNorm`` does on GPUs)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:  # noqa: A002 - torch's name
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - torch's name
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        c = input.shape[1]
        dims = [0, *range(2, input.dim())]
        count = torch.tensor([input.numel() / c], dtype=torch.float64)
        stats = _AllReduceSum.apply(torch.cat([input.sum(dims, dtype=torch.float64),
                                      (input.double() ** 2).sum(dims), count]))
        n = stats[-1]
        mean = stats[:c] / n
        var = (stats[c:2 * c] / n - mean * mean).clamp_min(0.0)
        shape = [1, c] + [1] * (input.dim() - 2)
        inv = torch.rsqrt(var + self.eps).to(input.dtype)
        out = (input - mean.to(input.dtype).view(shape)) * inv.view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = (1.0 / float(self.num_batches_tracked)) if self.momentum is None else self.momentum
                unbiased = var.detach() * (n.detach() / (n.detach() - 1).clamp_min(1.0))
                self.running_mean.mul_(1 - m).add_(mean.detach().to(self.running_mean.dtype), alpha=m)
                self.running_var.mul_(1 - m).add_(unbiased.to(self.running_var.dtype), alpha=m)
        return out


def rank_seed(seed: int, rank: int) -> int:
    """The seed of rank ``rank``'s own generators (augmentation, dropout); rank 0 keeps ``seed``."""
    return seed if rank == 0 else (seed * 1_000_003 + rank * 7919) % 2**63


def seed_rank(seed: int, rank: int, augment: Optional[torch.Generator]) -> None:
    """Give a rank > 0 its own random streams: python, NumPy, torch and the augmentation's generator (rank 0
    keeps the run's, so a one-process run is rank 0 of itself)."""
    if rank == 0:
        return
    import random

    import numpy as np

    s = rank_seed(seed, rank)
    random.seed(s)
    np.random.seed(s % 2**32)
    torch.manual_seed(s)
    if augment is not None:
        augment.manual_seed(s)


# ---------------------------------------------------------------------- launching and failures
def launch_torchrun(nproc: int, command: List[str]) -> dict:
    """Run ``command`` (a program and its arguments, e.g. ``segstudio.version.self_command("train", ...)``) in
    ``nproc`` processes on this machine with torchrun
    (``torch.distributed.run --standalone``, in this process); ``{rank: (exit status, pid)}`` of the processes
    that failed, ``{}`` when all succeeded.  A negative status is the signal that killed the process.
    Raises ``KeyboardInterrupt`` when this launcher was interrupted (the processes were stopped)."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    os.environ.setdefault("OMP_NUM_THREADS", "1")   # the processes set their torch threads themselves
    args = get_args_parser().parse_args(["--standalone", "--nproc-per-node", str(int(nproc)), "--no-python",
                                         *command])
    try:
        run(args)
    except ChildFailedError as exc:
        return {int(rank): (int(f.exitcode), int(f.pid)) for rank, f in exc.failures.items()}
    except SignalException:
        raise KeyboardInterrupt from None
    return {}


def describe_exit(status: int) -> str:
    if status < 0:
        import signal

        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"


def resume_hint(run_dir, nproc: int) -> str:
    """Where the run can continue from: its last.pt (epoch, batch) and the command, or that there is none."""
    from segstudio.core.checkpoint import load_checkpoint
    from segstudio.core.errors import CheckpointError
    from segstudio.core.training.run_folder import RunFolder

    folder = RunFolder(run_dir)
    if not folder.last.is_file():
        return f"no {RunFolder.LAST} was written in {folder.path} (no epoch finished)"
    try:
        ckpt = load_checkpoint(folder.last, mmap=True)
    except CheckpointError as exc:
        return f"{exc}"
    where = f"epoch {ckpt['epoch']} done"
    if ckpt.get("progress"):
        where = f"epoch {ckpt['progress']['epoch']}, batch {ckpt['progress']['batch']}"
    launcher = f"--nproc {nproc} " if nproc > 1 else ""
    return (f"{folder.last} ({where}) is complete and resumable: "
            f"segstudio train {launcher}--resume {folder.path}")


def failure_report(failures: dict, nproc: int, run_dir) -> tuple:
    """``(exit status, message)`` for the processes of a launched run that failed (:func:`launch_torchrun`):
    130 when they were interrupted, 2 for bad input (the processes said what), else 1."""
    statuses = {status for status, _pid in failures.values()}
    if statuses <= {130}:
        return 130, f"interrupted: {resume_hint(run_dir, nproc)}"
    if statuses <= {2}:
        return 2, ""
    what = "; ".join(f"process rank {rank} (pid {pid}) {describe_exit(status)}"
                     for rank, (status, pid) in sorted(failures.items()))
    return 1, f"the distributed run of {nproc} processes stopped: {what}. {resume_hint(run_dir, nproc)}"


def is_comm_error(exc: BaseException) -> bool:
    """An error of torch.distributed's communication (a process of the run went away)."""
    kinds = tuple(k for k in (getattr(dist, "DistError", None),) if k is not None)
    text = str(exc)
    return isinstance(exc, kinds) or (isinstance(exc, RuntimeError) and any(
        w in text for w in ("Connection closed", "Connection reset", "Broken pipe", "gloo", "NCCL")))


def lost_peer_message(d: Dist, run_dir, exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (f"process rank {d.rank} of {d.world_size} lost contact with the other processes of the run ({first}): "
            f"another process stopped. {resume_hint(run_dir, d.world_size)}")
