"""Do the default hyper-parameters work? Train every modality and the fusion over seeds.

For each seed, trains text, audio and face runs with the defaults on the bundled sample
(or ``--data``), then a fusion run over those three, and scores each on the dev split per
participant. Prints per-run macro-F1 and AUROC, then mean and standard deviation per
modality beside the best trivial baseline (always 'depressed' / always 'not depressed').

    python benchmarks/defaults.py [--seeds 0 1 2] [--data ROOT] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.evaluate import evaluate_run  # noqa: E402
from core.train import main as train_main  # noqa: E402

MODALITIES = ("text", "audio", "face")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", help="corpus root (default: bundled sample)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = ["--data", args.data] if args.data else []
    results: dict[str, list[dict]] = {m: [] for m in (*MODALITIES, "fusion", "late_fusion")}
    baseline = None
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            runs = {}
            for modality in (*MODALITIES, "fusion"):
                run_dir = Path(tmp) / f"{modality}-{seed}"
                extra = []
                if modality == "fusion":
                    for m in MODALITIES:
                        extra += [f"--{m}-run", str(runs[m])]
                argv = [modality, *data, "--run-dir", str(run_dir), "--seed", str(seed)]
                with contextlib.redirect_stdout(io.StringIO()):
                    status = train_main([*argv, "--quiet", *extra])
                if status != 0:
                    print(f"{modality} seed {seed} failed: see {run_dir}", file=sys.stderr)
                    return 1
                runs[modality] = run_dir
                report = evaluate_run(run_dir, "dev", n_boot=200)
                baseline = max(b["macro_f1"] for b in report["baselines"].values())
                results[modality].append({"seed": seed, **report["metrics"]})
                if modality == "fusion":
                    results["late_fusion"].append(
                        {"seed": seed, **report["late_fusion"]["metrics"]}
                    )
    summary = {}
    print(f"{'modality':12s} {'macro-F1 per seed':28s} {'mean':>6s} {'sd':>6s} {'AUROC':>6s}")
    for modality, rows in results.items():
        f1 = [r["macro_f1"] for r in rows]
        auroc = [r["auroc"] for r in rows if r["auroc"] is not None]
        sd = statistics.stdev(f1) if len(f1) > 1 else 0.0
        summary[modality] = {
            "macro_f1": f1,
            "mean_macro_f1": statistics.mean(f1),
            "sd_macro_f1": sd,
            "mean_auroc": statistics.mean(auroc) if auroc else None,
            "beats_baseline": all(v > baseline for v in f1),
        }
        cells = " ".join(f"{v:.3f}" for v in f1)
        print(
            f"{modality:12s} {cells:28s} {statistics.mean(f1):6.3f} {sd:6.3f} "
            f"{summary[modality]['mean_auroc'] or float('nan'):6.3f}"
        )
    print(f"best trivial baseline macro-F1 on dev: {baseline:.3f}")
    if args.json:
        print(json.dumps({"baseline_macro_f1": baseline, "modalities": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
