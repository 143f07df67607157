# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
"""Measure parameters, training step time and peak memory of SimFLE configs.

For each config the script builds the model, counts its parameters and
times full training steps (``model.loss`` on random views, the sum of the
loss dict, backward and an optimizer step with the config's
``optim_wrapper``). It times each step in fp32 and under bfloat16 autocast
and compares the first-step losses of the two. Examples::

    python tools/analysis_tools/benchmark.py
    python tools/analysis_tools/benchmark.py --steps 20 --warmup 3 \\
        --out-md docs/benchmark.md --out-json work_dirs/benchmark.json
    python tools/analysis_tools/benchmark.py \\
        --configs configs/simfle/simfle_r50_8xb64_affectnet.py \\
        --batch-sizes 64 --device cuda

Each (config, dtype) pair runs in a fresh subprocess
(``benchmark.py --single ...``) because ``ru_maxrss`` only grows within a
process: a shared process would report the larger peak of the runs for
both. Both subprocesses of a config seed the weights, the inputs and the
random mask groups in the same way, and the parent checks fingerprints of
the initial weights and inputs before it compares their losses.

Inputs are random tensors that bypass the data preprocessor: two global
views sized by the ``RandomResizedCrop`` of the training pipeline's
``MultiView`` transform and one face view of ``facemae_neck.img_size``.
The learning rate is the config's, not rescaled to the batch size.
"""
import argparse
import contextlib
import copy
import datetime
import json
import math
import os
import os.path as osp
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch

# Run from a checkout without installing: put the repository first.
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

# Pairs of config and batch size. A batch size of None means the config's
# train_dataloader.batch_size.
DEFAULT_RUNS = (
    ('configs/simfle/simfle_r50_8xb64_affectnet.py', 4),
    ('configs/simfle/simfle_r18_1xb32-coslr-5e_ferplus-96px.py', None),
)
# Top-level submodules of SimFLE that are always listed, even without
# parameters. Any other child with parameters is listed as well.
SIMFLE_SUBMODULES = ('backbone', 'neck', 'head', 'mask_generator',
                     'facemae_neck', 'rec_head', 'gfl_distill_neck',
                     'ffl_distill_neck', 'target_net')
LOSS_TERMS = ('loss_sim', 'loss_rec', 'loss_kd', 'loss_group')
DTYPES = {'fp32': None, 'bf16': torch.bfloat16}
MIB = 1024**2


def parse_args(argv: Optional[Sequence[str]] = None):
    """Parse the command line and return the parser too, for its errors."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)

    parser.add_argument(
        '--configs',
        nargs='+',
        help='config files to measure; defaults to '
        + ' and '.join(path for path, _ in DEFAULT_RUNS))
    parser.add_argument(
        '--batch-sizes',
        nargs='+',
        type=int,
        help='images per step, one value per config in the order of '
        '--configs. Without it, a run without --configs uses 4 for the R50 '
        'config, and every other config uses its '
        'train_dataloader.batch_size')
    parser.add_argument(
        '--steps', type=int, default=10, help='timed training steps')
    parser.add_argument(
        '--warmup',
        type=int,
        default=2,
        help='untimed training steps before the timed ones')
    parser.add_argument(
        '--dtypes',
        nargs='+',
        choices=list(DTYPES),
        default=list(DTYPES),
        help='fp32 runs without autocast; bf16 runs the forward pass under '
        'torch.autocast(device, dtype=torch.bfloat16)')
    # NOTE: the cuda path (autocast on cuda, max_memory_allocated) has not
    # been run on a GPU, only checked for its errors without one.
    parser.add_argument(
        '--device',
        choices=['cpu', 'cuda'],
        default='cpu',
        help='device of the model and inputs')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the initial weights, the inputs and the mask groups')
    parser.add_argument(
        '--out-md',
        help='write (overwrite) a Markdown page with the tables, the command '
        'line, the date and the machine to this path')
    parser.add_argument(
        '--out-json', help='write all results as JSON to this path')
    parser.add_argument(
        '--single',
        action='store_true',
        help='measure one config in this process and print its JSON result '
        '(or write it to --out-json); the default mode starts one such '
        'process per config and dtype')
    return parser, parser.parse_args(argv)


def resolve_runs(parser: argparse.ArgumentParser,
                 args: argparse.Namespace) -> List[Tuple[str, Optional[int]]]:
    """Check the options and pair each config with its batch size."""
    args.dtypes = list(dict.fromkeys(args.dtypes))
    if args.configs is None:
        runs = list(DEFAULT_RUNS)
        if args.batch_sizes is not None:
            if len(args.batch_sizes) != len(runs):
                parser.error(
                    f'--batch-sizes got {len(args.batch_sizes)} value(s) for '
                    f'the {len(runs)} default configs; give one batch size '
                    'per config, in the order of the default configs: '
                    + ', '.join(path for path, _ in DEFAULT_RUNS))
            runs = [(path, batch)
                    for (path, _), batch in zip(runs, args.batch_sizes)]
    else:
        batch_sizes = args.batch_sizes or [None] * len(args.configs)
        if len(batch_sizes) != len(args.configs):
            parser.error(
                f'--batch-sizes got {len(batch_sizes)} value(s) for '
                f'{len(args.configs)} config(s); give one batch size per '
                'config, in the order of --configs')
        runs = list(zip(args.configs, batch_sizes))

    for path, batch in runs:
        if not osp.isfile(path):
            parser.error(f'config file not found: {path!r} (paths are '
                         f'relative to the working directory {os.getcwd()})')
        if batch is not None and batch < 1:
            parser.error(f'batch size {batch} for {path} must be at least 1')
    if args.steps < 1:
        parser.error(f'--steps must be at least 1, got {args.steps}')
    if args.warmup < 0:
        parser.error(f'--warmup must be 0 or more, got {args.warmup}')
    if args.single and len(runs) != 1:
        parser.error(f'--single measures one config, got {len(runs)}')
    if args.device == 'cuda':
        if not torch.cuda.is_available():
            parser.error('--device cuda needs a GPU, but '
                         'torch.cuda.is_available() is False; use --device '
                         'cpu')
        if 'bf16' in args.dtypes and not torch.cuda.is_bf16_supported():
            parser.error('this GPU does not support bfloat16; run with '
                         '--dtypes fp32')
    return runs


def describe_machine(device: str) -> Dict:
    """Return the CPU model, core count, torch version and threads."""
    cpu_model = platform.processor() or 'unknown'
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    cpu_model = line.split(':', 1)[1].strip()
                    break
    machine = dict(
        cpu_model=cpu_model,
        cpu_count=os.cpu_count(),
        torch_version=torch.__version__,
        torch_num_threads=torch.get_num_threads(),
        python_version=platform.python_version(),
        device=device)
    if hasattr(os, 'sched_getaffinity'):
        machine['cpus_available'] = len(os.sched_getaffinity(0))
    if device == 'cuda':
        machine['gpu'] = torch.cuda.get_device_name(0)
    return machine


def import_mmsimfle() -> None:
    """Import mmsimfle to register its modules, with mmengine quiet.

    ``init_weights`` logs one INFO record per parameter, which is thousands
    for the R50 model, and a current MMLogger at WARNING level drops them.
    """
    # mmcv-lite lacks the compiled deformable attention, so mmcv warns on
    # import, but SimFLE does not use it.
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    import mmsimfle  # noqa: F401  (registers models)
    from mmengine.logging import MMLogger
    MMLogger.get_instance('mmsimfle_benchmark', log_level='WARNING')


def read_view_sizes(cfg, model) -> Tuple[Tuple[int, int], int]:
    """Return the global view (height, width) and the face view side.

    The global size is the ``scale`` of the ``RandomResizedCrop`` inside the
    ``MultiView`` transform of ``train_dataloader.dataset.pipeline``, or of
    ``train_pipeline`` when the dataset has none.
    """
    pipeline = None
    dataloader = cfg.get('train_dataloader')
    if dataloader is not None:
        pipeline = dataloader.get('dataset', {}).get('pipeline')
    if pipeline is None:
        pipeline = cfg.get('train_pipeline')
    if pipeline is None:
        raise ValueError(f'{cfg.filename} has no train_dataloader.dataset.'
                         'pipeline and no train_pipeline to read the global '
                         'view size from')

    scales = []
    for transform in pipeline:
        if transform.get('type') != 'MultiView':
            continue
        for branch in transform['transforms']:
            for step in branch:
                if step.get('type') == 'RandomResizedCrop':
                    scales.append(step['scale'])
    if not scales:
        raise ValueError(f'{cfg.filename}: no RandomResizedCrop inside a '
                         'MultiView transform of the training pipeline')
    sizes = {(s, s) if isinstance(s, int) else tuple(s) for s in scales}
    if len(sizes) != 1:
        raise ValueError(f'{cfg.filename}: the MultiView RandomResizedCrop '
                         f'transforms disagree on the view size: {sizes}')
    # mmpretrain's RandomResizedCrop takes an int or (height, width).
    global_size = sizes.pop()
    return global_size, int(model.facemae_neck.img_size)


def count_parameters(model: torch.nn.Module) -> Dict:
    """Count all, trainable and per-child parameters of ``model``."""

    def count(module):
        params = list(module.parameters())
        return dict(
            total=sum(p.numel() for p in params),
            trainable=sum(p.numel() for p in params if p.requires_grad))

    submodules = {}
    for name, child in model.named_children():
        counts = count(child)
        if name in SIMFLE_SUBMODULES or counts['total'] > 0:
            submodules[name] = counts
    return dict(count(model), submodules=submodules)


def fingerprint(tensors) -> List[float]:
    """Return the float64 sum and absolute sum of tensors, as a checksum."""
    total = 0.0
    absolute = 0.0
    for tensor in tensors:
        if tensor.is_floating_point():
            values = tensor.detach().double()
            total += values.sum().item()
            absolute += values.abs().sum().item()
    return [total, absolute]


def build_model(cfg, seed: int) -> torch.nn.Module:
    """Build ``cfg.model`` with seeded initial weights."""
    from mmpretrain.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def build_optim_wrapper(cfg, model: torch.nn.Module):
    """Build the config's optimizer in a plain ``OptimWrapper``.

    Mixed precision comes from the benchmark's autocast, so an
    ``AmpOptimWrapper`` type and its loss scaling are dropped. Gradient
    accumulation is dropped so that every step updates the weights.
    Gradient clipping and ``paramwise_cfg`` are kept.
    """
    from mmengine.optim import build_optim_wrapper as build_wrapper
    wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
    wrapper_cfg['type'] = 'OptimWrapper'
    for key in ('loss_scale', 'dtype', 'use_fsdp', 'accumulative_counts'):
        wrapper_cfg.pop(key, None)
    return build_wrapper(model, wrapper_cfg)


def make_inputs(batch_size: int, global_size: Tuple[int, int],
                face_size: int, seed: int,
                device: torch.device) -> List[torch.Tensor]:
    """Make normalised random views from their own seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    height, width = global_size
    view1 = torch.randn(
        batch_size, 3, height, width, generator=generator)  # (B, 3, Hg, Wg)
    view2 = torch.randn(
        batch_size, 3, height, width, generator=generator)  # (B, 3, Hg, Wg)
    face = torch.randn(
        batch_size, 3, face_size, face_size,
        generator=generator)  # (B, 3, Hf, Wf)
    return [view.to(device) for view in (view1, view2, face)]


def train_step(model, optim_wrapper, inputs: List[torch.Tensor],
               autocast_dtype: Optional[torch.dtype],
               device: torch.device) -> Dict[str, torch.Tensor]:
    """Run one forward, backward and optimizer step and return the losses.

    Only the forward pass runs under autocast, as PyTorch recommends, and
    the backward pass reuses the dtypes that the forward pass chose.
    """
    if autocast_dtype is None:
        autocast = contextlib.nullcontext()
    else:
        autocast = torch.autocast(device.type, dtype=autocast_dtype)
    with autocast:
        losses = model.loss(inputs, None)
        total = sum(losses.values())
    optim_wrapper.update_params(total)
    return {name: loss.detach() for name, loss in losses.items()}


def peak_rss_mib() -> float:
    """Return the peak resident set size of this process in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB and macOS bytes.
    if sys.platform == 'darwin':
        return peak / MIB
    return peak / 1024


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_steps(model, optim_wrapper, inputs, autocast_dtype, device,
               steps: int, warmup: int, seed: int) -> Dict:
    """Time ``warmup + steps`` training steps and keep the first losses."""
    step_times = []
    first_losses = None
    nonfinite_steps = 0
    # The mask generator draws its channel groups from the global RNG, so
    # every dtype starts the steps from the same RNG state.
    torch.manual_seed(seed)
    for index in range(warmup + steps):
        synchronize(device)
        start = time.perf_counter()
        losses = train_step(model, optim_wrapper, inputs, autocast_dtype,
                            device)
        synchronize(device)
        elapsed = time.perf_counter() - start

        values = {name: float(loss) for name, loss in losses.items()}
        if first_losses is None:
            first_losses = values
        if not all(math.isfinite(value) for value in values.values()):
            nonfinite_steps += 1
        if index >= warmup:
            step_times.append(elapsed)
    return dict(
        step_times_s=step_times,
        first_step_losses=first_losses,
        nonfinite_loss_steps=nonfinite_steps)


def benchmark_dtype(cfg, batch_size: int, dtype: str, steps: int,
                    warmup: int, device: torch.device, seed: int) -> Dict:
    """Build a fresh model and time its training steps in one dtype."""
    model = build_model(cfg, seed)
    parameters = count_parameters(model)
    weights_fingerprint = fingerprint(model.state_dict().values())
    global_size, face_size = read_view_sizes(cfg, model)
    model.to(device)
    model.train()
    optim_wrapper = build_optim_wrapper(cfg, model)
    inputs = make_inputs(batch_size, global_size, face_size, seed + 1, device)

    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    rss_before = peak_rss_mib()
    run = time_steps(model, optim_wrapper, inputs, DTYPES[dtype], device,
                     steps, warmup, seed)
    run['peak_rss_mib'] = peak_rss_mib()
    run['peak_rss_before_steps_mib'] = rss_before
    if device.type == 'cuda':
        run['cuda_max_allocated_mib'] = (
            torch.cuda.max_memory_allocated(device) / MIB)

    median = statistics.median(run['step_times_s'])
    run.update(
        median_step_s=median,
        min_step_s=min(run['step_times_s']),
        images_per_s=batch_size / median,
        torch_num_threads=torch.get_num_threads(),
        fingerprint=dict(
            weights=weights_fingerprint, inputs=fingerprint(inputs)))
    return dict(
        parameters=parameters,
        global_view_size=list(global_size),
        face_view_size=face_size,
        optimizer=dict(cfg.optim_wrapper.optimizer),
        run=run)


def compare_dtypes(result: Dict) -> None:
    """Add the bf16/fp32 time ratio and relative loss differences.

    The loss comparison is left out (None, with a reason) when the two runs
    did not start from the same weights and inputs.
    """
    runs = result['runs']
    result['bf16_fp32_time_ratio'] = None
    result['loss_relative_diff'] = None
    if 'fp32' not in runs or 'bf16' not in runs:
        return
    fp32, bf16 = runs['fp32'], runs['bf16']
    result['bf16_fp32_time_ratio'] = (
        bf16['median_step_s'] / fp32['median_step_s'])
    if fp32['fingerprint'] != bf16['fingerprint']:
        result['loss_comparison_skipped'] = (
            'the fp32 and bf16 runs started from different weights or '
            'inputs despite the same seed')
        return
    diffs = {}
    for term in LOSS_TERMS:
        reference = fp32['first_step_losses'].get(term)
        value = bf16['first_step_losses'].get(term)
        if reference is None or value is None:
            continue
        if reference == 0:
            diffs[term] = 0.0 if value == 0 else math.inf
        else:
            diffs[term] = abs(value - reference) / abs(reference)
    result['loss_relative_diff'] = diffs


def benchmark_config(config: str,
                     batch_size: Optional[int] = None,
                     steps: int = 10,
                     warmup: int = 2,
                     dtypes: Sequence[str] = ('fp32', 'bf16'),
                     device: str = 'cpu',
                     seed: int = 0,
                     cfg_options: Optional[Dict] = None) -> Dict:
    """Measure one config in this process, one dtype after the other.

    Args:
        config (str): Config file path.
        batch_size (int, optional): Images per step. Defaults to the
            config's ``train_dataloader.batch_size``.
        steps (int): Timed steps per dtype.
        warmup (int): Untimed steps before the timed ones.
        dtypes (Sequence[str]): Keys of ``DTYPES`` to run.
        device (str): ``'cpu'`` or ``'cuda'``.
        seed (int): Seed of weights, inputs and mask groups.
        cfg_options (dict, optional): Config overrides, as in
            ``Config.merge_from_dict``.

    Returns:
        dict: The config, batch size, view sizes, parameter counts, one run
        per dtype and their comparison (see :func:`compare_dtypes`).

    NOTE: ``peak_rss_mib`` of a later dtype includes the earlier ones,
    because ``ru_maxrss`` never decreases. The command line avoids this by
    running each dtype in its own process.
    """
    from mmengine.config import Config
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config!r}')
    unknown = [dtype for dtype in dtypes if dtype not in DTYPES]
    if unknown:
        raise ValueError(f'unknown dtypes {unknown}; use {list(DTYPES)}')
    import_mmsimfle()
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if batch_size is None:
        batch_size = cfg.train_dataloader.batch_size

    result = dict(
        config=config,
        batch_size=batch_size,
        device=device,
        steps=steps,
        warmup=warmup,
        seed=seed,
        runs={})
    for dtype in dtypes:
        measured = benchmark_dtype(cfg, batch_size, dtype, steps, warmup,
                                   torch.device(device), seed)
        result['runs'][dtype] = measured.pop('run')
        result.update(measured)
    compare_dtypes(result)
    return result


def run_in_subprocess(config: str, batch_size: Optional[int], dtype: str,
                      args: argparse.Namespace) -> Dict:
    """Measure one config in one dtype in a fresh Python process."""
    with tempfile.TemporaryDirectory() as tmp_dir:
        out_json = osp.join(tmp_dir, 'result.json')
        command = [
            sys.executable,
            osp.abspath(__file__), '--single', '--configs', config,
            '--steps',
            str(args.steps), '--warmup',
            str(args.warmup), '--dtypes', dtype, '--device', args.device,
            '--seed',
            str(args.seed), '--out-json', out_json
        ]
        if batch_size is not None:
            command += ['--batch-sizes', str(batch_size)]
        completed = subprocess.run(command)
        if completed.returncode != 0:
            raise RuntimeError(
                f'the benchmark of {config} in {dtype} failed with exit code '
                f'{completed.returncode}; its error is printed above. '
                f'Command: {shlex.join(command)}')
        with open(out_json) as result_file:
            return json.load(result_file)


def merge_dtype_results(results: List[Dict]) -> Dict:
    """Merge the one-dtype results of a config into one result."""
    merged = copy.deepcopy(results[0])
    for result in results[1:]:
        merged['runs'].update(result['runs'])
    compare_dtypes(merged)
    return merged


def short_name(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def million(count: int) -> str:
    return f'{count / 1e6:.2f}'


def optional_number(value: Optional[float], spec: str) -> str:
    return '-' if value is None else format(value, spec)


def build_tables(results: List[Dict]) -> List[Tuple[str, List[str], List]]:
    """Return (title, headers, rows) of the parameter, time and loss tables."""
    param_rows = []
    for result in results:
        parameters = result['parameters']
        name = short_name(result['config'])
        for sub_name, counts in parameters['submodules'].items():
            param_rows.append([
                name, sub_name,
                million(counts['total']),
                million(counts['trainable'])
            ])
        param_rows.append([
            name, '(all)',
            million(parameters['total']),
            million(parameters['trainable'])
        ])

    use_cuda = any(result['device'] == 'cuda' for result in results)
    time_headers = [
        'config', 'batch', 'global view', 'face view', 'dtype',
        'median s/step', 'min s/step', 'images/s', 'peak RSS MiB'
    ]
    if use_cuda:
        time_headers.append('CUDA peak MiB')
    time_headers.append('bf16/fp32 time')
    time_rows = []
    for result in results:
        height, width = result['global_view_size']
        for dtype, run in result['runs'].items():
            row = [
                short_name(result['config']), result['batch_size'],
                f'{height}x{width}',
                f"{result['face_view_size']}x{result['face_view_size']}",
                dtype, f"{run['median_step_s']:.3f}",
                f"{run['min_step_s']:.3f}", f"{run['images_per_s']:.2f}",
                f"{run['peak_rss_mib']:.0f}"
            ]
            if use_cuda:
                row.append(
                    optional_number(run.get('cuda_max_allocated_mib'), '.0f'))
            ratio = result['bf16_fp32_time_ratio'] if dtype == 'bf16' else None
            row.append(optional_number(ratio, '.2f'))
            time_rows.append(row)

    loss_rows = []
    for result in results:
        diffs = result.get('loss_relative_diff')
        if not diffs:
            continue
        fp32 = result['runs']['fp32']['first_step_losses']
        bf16 = result['runs']['bf16']['first_step_losses']
        for term, diff in diffs.items():
            loss_rows.append([
                short_name(result['config']), term, f'{fp32[term]:.6g}',
                f'{bf16[term]:.6g}', f'{diff:.2e}'
            ])

    tables = [
        ('Parameters (millions)',
         ['config', 'submodule', 'total', 'trainable'], param_rows),
        ('Training step time and peak memory', time_headers, time_rows),
    ]
    if loss_rows:
        tables.append(
            ('First-step losses, fp32 vs bf16 autocast (same weights and '
             'inputs)', ['config', 'loss', 'fp32', 'bf16', 'relative diff'],
             loss_rows))
    return tables


def format_text_table(headers: List[str], rows: List) -> str:
    cells = [headers] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ['  '.join(cell.ljust(width) for cell, width in zip(row, widths))
             for row in cells]
    lines.insert(1, '  '.join('-' * width for width in widths))
    return '\n'.join(line.rstrip() for line in lines)


def format_markdown_table(headers: List[str], rows: List) -> str:
    lines = ['| ' + ' | '.join(headers) + ' |',
             '|' + '|'.join(' --- ' for _ in headers) + '|']
    for row in rows:
        lines.append('| ' + ' | '.join(str(cell) for cell in row) + ' |')
    return '\n'.join(lines)


def describe_settings(results: List[Dict], machine: Dict) -> List[str]:
    """Return lines on the machine and the measuring settings."""
    lines = [
        f"CPU: {machine['cpu_model']}, {machine['cpu_count']} cores"
        + (f" ({machine['cpus_available']} available to this process)"
           if 'cpus_available' in machine else ''),
        f"torch {machine['torch_version']}, "
        f"torch.get_num_threads() = {machine['torch_num_threads']}, "
        f"Python {machine['python_version']}",
        f"device: {machine['device']}"
        + (f" ({machine['gpu']})" if 'gpu' in machine else ''),
    ]
    if results:
        first = results[0]
        lines.append(f"{first['steps']} timed step(s) after "
                     f"{first['warmup']} warm-up step(s) per config and "
                     f"dtype, seed {first['seed']}")
    for result in results:
        optimizer = ', '.join(f'{key}={value}'
                              for key, value in result['optimizer'].items())
        lines.append(f"{short_name(result['config'])}: {optimizer}")
    return lines


def describe_warnings(results: List[Dict]) -> List[str]:
    lines = []
    for result in results:
        for dtype, run in result['runs'].items():
            if run['nonfinite_loss_steps']:
                lines.append(
                    f"{short_name(result['config'])} {dtype}: "
                    f"{run['nonfinite_loss_steps']} step(s) gave a NaN or "
                    'infinite loss')
        reason = result.get('loss_comparison_skipped')
        if reason:
            lines.append(f"{short_name(result['config'])}: loss comparison "
                         f'skipped because {reason}')
    return lines


def format_text_report(results: List[Dict], machine: Dict) -> str:
    parts = describe_settings(results, machine)
    if not results:
        parts += ['', 'No config was measured.']
        return '\n'.join(parts)
    for title, headers, rows in build_tables(results):
        parts += ['', title, format_text_table(headers, rows)]
    notes = describe_warnings(results)
    if notes:
        parts += [''] + [f'WARNING: {note}' for note in notes]
    return '\n'.join(parts)


def format_markdown_report(results: List[Dict], machine: Dict, command: str,
                           date: str) -> str:
    parts = [
        '# SimFLE training benchmark', '',
        'Written by `tools/analysis_tools/benchmark.py`. Each row times full '
        'training steps (forward, backward and optimizer step) on random '
        'inputs; images/s counts training images of three views each. Peak '
        'RSS is `ru_maxrss` of a fresh process per config and dtype, '
        'imports and model building included.', '', f'Date: {date}', '',
        'Command:', '', '```shell', command, '```', '', '## Machine', ''
    ]
    parts += [f'- {line}' for line in describe_settings(results, machine)]
    for title, headers, rows in build_tables(results):
        parts += ['', f'## {title}', '', format_markdown_table(headers, rows)]
    notes = describe_warnings(results)
    if notes:
        parts += ['', '## Warnings', ''] + [f'- {note}' for note in notes]
    return '\n'.join(parts) + '\n'


def write_file(path: str, text: str) -> None:
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, 'w') as out_file:
        out_file.write(text)


def run_single(args: argparse.Namespace, config: str,
               batch_size: Optional[int]) -> None:
    """Measure one config in this process and emit its JSON result."""
    result = benchmark_config(
        config,
        batch_size=batch_size,
        steps=args.steps,
        warmup=args.warmup,
        dtypes=args.dtypes,
        device=args.device,
        seed=args.seed)
    text = json.dumps(result, indent=2)
    if args.out_json:
        write_file(args.out_json, text)
    else:
        print(text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser, args = parse_args(argv)
    runs = resolve_runs(parser, args)
    if args.single:
        run_single(args, *runs[0])
        return 0

    results = []
    failures = []
    for config, batch_size in runs:
        per_dtype = []
        for dtype in args.dtypes:
            batch_text = 'config batch' if batch_size is None else (
                f'batch {batch_size}')
            print(
                f'Measuring {config} ({batch_text}, {dtype}, {args.device}, '
                f'{args.warmup} + {args.steps} steps)',
                file=sys.stderr,
                flush=True)
            try:
                per_dtype.append(
                    run_in_subprocess(config, batch_size, dtype, args))
            except RuntimeError as error:
                print(f'ERROR: {error}', file=sys.stderr, flush=True)
                failures.append(str(error))
        if per_dtype:
            results.append(merge_dtype_results(per_dtype))

    machine = describe_machine(args.device)
    date = datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%d %H:%M UTC')
    command = shlex.join([sys.executable] + sys.argv)
    print(format_text_report(results, machine))
    if args.out_md:
        write_file(args.out_md,
                   format_markdown_report(results, machine, command, date))
        print(f'Wrote {args.out_md}')
    if args.out_json:
        payload = dict(
            date=date,
            command=command,
            machine=machine,
            results=results,
            failures=failures)
        write_file(args.out_json, json.dumps(payload, indent=2))
        print(f'Wrote {args.out_json}')
    if failures:
        print(f'{len(failures)} benchmark run(s) failed; see the errors '
              'above.', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
