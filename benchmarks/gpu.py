"""GPU throughput: training images/s and model FLOP utilization (MFU) of a few catalog
models, through the project's own training path (device, precision and XLA chosen in
:mod:`cifar_core.runs.hardware`, augmentation on the device inside the model).

    python benchmarks/gpu.py [--variants s001_model_a flagship s002_wrn_16_8]
                             [--batch 0] [--steps 50] [--json]

MFU = forward FLOPs per image × 3 (forward + backward) × images/s ÷ the GPU's dense
bf16/fp16 peak (the table of :mod:`cifar_core.runs.compute_plan`). Without a GPU it says
so and exits 0: nothing here is meaningful on a CPU (use benchmarks/throughput.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cifar_core.runs.hardware import compute_settings  # noqa: E402


def peak_flops(device_name: str) -> tuple[str, float] | None:
    """``(accelerator, peak FLOP/s)`` of the first :data:`ACCELERATORS` entry whose model
    appears in the device name (e.g. "NVIDIA H100 80GB HBM3" → H100-SXM)."""
    from cifar_core.runs.compute_plan import ACCELERATORS

    name = device_name.upper().replace(" ", "")
    for key, accelerator in ACCELERATORS.items():
        if key.split("-")[0].upper() in name:
            return key, accelerator.peak_flops
    return None


def measure(variant, *, steps: int, batch: int) -> dict:
    """Images/s of ``steps`` training steps after a warm-up (compilation excluded)."""
    import keras
    import numpy as np

    from cifar_core.models.stats import model_stats
    from cifar_core.runs.hardware import configure, seed_everything
    from cifar_core.runs.train import build_compiled_model

    hardware = configure()
    seed_everything(0, hardware)
    batch = batch or variant.batch_size
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch * steps, 32, 32, 3)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 10, len(x)), 10)
    dataset = type("D", (), {"input_shape": (32, 32, 3), "num_classes": 10})()
    model = build_compiled_model(variant, dataset, hardware, steps, x[: batch * 4])
    model.fit(x[: batch * 5], y[: batch * 5], batch_size=batch, epochs=1, verbose=0)  # compile
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    images_per_s = len(x) / seconds
    forward = model_stats(variant.family, variant.params)["flops"]
    row = {
        "variant": variant.name,
        "batch": batch,
        "images_per_s": round(images_per_s, 1),
        "device": hardware.name,
        "precision": hardware.policy,
        "train_tflops": round(3 * forward * images_per_s / 1e12, 2),
    }
    peak = peak_flops(hardware.name)
    if peak:
        row["mfu"] = round(3 * forward * images_per_s / peak[1], 4)
        row["peak"] = peak[0]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants", nargs="+", default=["s001_model_a", "flagship", "s002_wrn_16_8"]
    )
    parser.add_argument("--batch", type=int, default=0, help="0: each variant's own batch size")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    settings = compute_settings()
    if settings.device != "gpu":
        print(
            f"no GPU: this machine trains on the CPU ({settings.backend} backend); "
            "GPU throughput and MFU cannot be measured here (see benchmarks/throughput.py "
            "for the CPU)"
        )
        return 0
    from cifar_core.experiments.catalog import get_variant

    rows = [
        measure(get_variant(name), steps=args.steps, batch=args.batch) for name in args.variants
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            mfu = f", MFU {row['mfu']:.1%} of {row['peak']}" if "mfu" in row else ""
            print(
                f"{row['variant']:<16} batch {row['batch']:>4}: {row['images_per_s']:>9,.0f} "
                f"images/s, {row['train_tflops']} TFLOP/s ({row['precision']}, "
                f"{row['device']}){mfu}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
