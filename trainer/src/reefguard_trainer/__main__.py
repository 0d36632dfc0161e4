"""Trainer CLI: one subcommand per stage (`python -m reefguard_trainer STAGE ...`).

Settings come from the environment here and only here: REEFGUARD_STATE_DIR,
REEFGUARD_MLFLOW_TRACKING_URI, REEFGUARD_OPTUNA_STORAGE, REEFGUARD_NATS_URL.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reefguard_trainer import contracts

DEFAULT_STATE_DIR = ".reefguard"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


def load_settings(env: Mapping[str, str]):  # type: ignore[no-untyped-def]
    from reefguard_trainer.pipeline import Settings
    from reefguard_trainer.registry import default_tracking_uri

    state_dir = Path(env.get("REEFGUARD_STATE_DIR") or DEFAULT_STATE_DIR)
    return Settings(
        state_dir=state_dir,
        mlflow_tracking_uri=env.get("REEFGUARD_MLFLOW_TRACKING_URI")
        or default_tracking_uri(state_dir),
        optuna_storage=env.get("REEFGUARD_OPTUNA_STORAGE")
        or f"sqlite:///{(state_dir / 'optuna' / 'optuna.db').resolve()}",
        nats_url=env.get("REEFGUARD_NATS_URL") or DEFAULT_NATS_URL,
    )


def train_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from reefguard_trainer.train import TrainOptions
    from reefguard_trainer.vit import VitParams
    from reefguard_trainer.xgb import XgbParams

    later = later_years_of(args)
    if args.quick:
        return TrainOptions(
            XgbParams(n_estimators=20),
            VitParams(epochs=1, max_rows=400),
            seed=args.seed,
            threads=args.threads,
            later_years=() if later is None else later,
        )
    if later is None:
        from reefguard_trainer.later_years import LATER_YEARS

        later = LATER_YEARS
    return TrainOptions(seed=args.seed, threads=args.threads, later_years=later)


def later_years_of(args: argparse.Namespace) -> tuple[int, ...] | None:
    """--later-years 2016,2017 | none; None when not given (the default of the mode)."""
    text = getattr(args, "later_years", None)
    if text is None:
        return None
    if text.strip().lower() == "none":
        return ()
    from reefguard_trainer.later_years import check_years
    from reefguard_trainer.train import SAMPLE_DATA_DIR

    try:
        years = tuple(int(y) for y in text.split(","))
    except ValueError:
        raise SystemExit(
            f"error: --later-years wants years like 2016,2017 or none, not {text!r}"
        ) from None
    try:
        check_years(SAMPLE_DATA_DIR, years)
    except ValueError as error:
        raise SystemExit(f"error: --later-years: {error}") from None
    return years


def resolve_training_set(args: argparse.Namespace, scratch: Path) -> Path:
    from reefguard_trainer.pipeline import export_sample_training_set

    if args.training_set:
        return Path(args.training_set)
    if args.sample_data:
        return export_sample_training_set(scratch / "training-set")
    raise SystemExit(
        "error: give --training-set DIR (from `./reefguard features export`) or --sample-data"
    )


def train_command(args: argparse.Namespace) -> int:
    from reefguard_trainer.pipeline import run_training

    settings = load_settings(os.environ)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        directory = resolve_training_set(args, Path(scratch))
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        (settings.state_dir / "optuna").mkdir(exist_ok=True)
        result = run_training(
            settings, directory, train_options(args), args.trials, use_mlflow=not args.no_mlflow
        )
    card = result["card"]
    summary = {
        "version": result["version"],
        "model_dir": result["model_dir"],
        "aliases": result["aliases"],
        "mlflow": result.get("mlflow"),
        "threshold": card["threshold"],
        "ensemble": card["ensemble"],
        "overall": card["metrics"]["overall"],
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_event_table(card))
        print(f"model {result['version']} -> {result['model_dir']} aliases {result['aliases']}")
    return 0


def format_event_table(card: dict[str, Any]) -> str:
    def cell(value: float | None) -> str:
        return "  -  " if value is None else f"{value:.3f}"

    lines = [f"{'event':<11} {'n':>6} {'pos':>5}  who           AUROC PR-AUC   F1  Brier Peirce"]
    for event in card["metrics"]["held_out_events"]:
        for who in ("model", "crw_baseline", "dhw_logistic"):
            m = event[who]
            lines.append(
                f"{event['event']:<11} {m['n']:>6} {m['positives']:>5}  {who:<12} "
                + " ".join(cell(m[k]) for k in ("auroc", "pr_auc", "f1", "brier", "peirce"))
            )
    return "\n".join(lines)


def tune_command(args: argparse.Namespace) -> int:
    from reefguard_trainer.data import load_training_set
    from reefguard_trainer.train import select_features
    from reefguard_trainer.tune import tune

    settings = load_settings(os.environ)
    storage = args.storage or settings.optuna_storage
    if storage.startswith("sqlite:///"):
        Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        training_set = load_training_set(resolve_training_set(args, Path(scratch)))
        study = tune(
            training_set,
            select_features(training_set),
            storage,
            args.trials,
            args.seed,
            args.threads,
        )
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    print(
        json.dumps(
            {
                "study": study.study_name,
                "trials": len(study.trials),
                "complete": len(complete),
                "pruned": len(pruned),
                "best_value": study.best_value if complete else None,
                "best_params": study.best_params if complete else None,
                "wall_seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )
    return 0


def trial_command(args: argparse.Namespace) -> int:
    """One Katib trial: the tuning objective at the given knob values; prints auroc=VALUE."""
    import optuna

    from reefguard_trainer.data import load_training_set
    from reefguard_trainer.train import select_features
    from reefguard_trainer.tune import SEARCH_SPACE, make_objective

    values = {k.name: getattr(args, k.name) for k in SEARCH_SPACE}
    with tempfile.TemporaryDirectory() as scratch:
        training_set = load_training_set(resolve_training_set(args, Path(scratch)))
        objective = make_objective(
            training_set, select_features(training_set), args.seed, args.threads
        )
        auroc = objective(optuna.trial.FixedTrial(values))
    print(f"auroc={auroc:.6f}")
    return 0


def katib_command(args: argparse.Namespace) -> int:
    import yaml

    from reefguard_trainer.search_space import katib_experiment

    text = "# Written by `python -m reefguard_trainer katib` from tune.SEARCH_SPACE.\n"
    text += yaml.safe_dump(
        katib_experiment(args.image, args.trials, args.parallel), sort_keys=False
    )
    if args.out == "-":
        print(text, end="")
    else:
        Path(args.out).write_text(text)
    return 0


def retrain_worker_command(args: argparse.Namespace) -> int:
    from reefguard_trainer.pipeline import export_sample_training_set, run_training
    from reefguard_trainer.retrain import run_worker, trace_tags

    settings = load_settings(os.environ)
    options = train_options(args)

    def retrain(request: dict[str, Any], scratch: Path) -> dict[str, Any]:
        directory = (
            Path(args.training_set)
            if args.training_set
            else export_sample_training_set(scratch / "training-set")
        )
        return run_training(
            settings,
            directory,
            options,
            use_mlflow=not args.no_mlflow,
            extra_tags=trace_tags(request),
        )

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_worker(settings.nats_url, settings.state_dir, retrain, stop)

    print(f"retrain worker: handled {asyncio.run(main())} request(s)")
    return 0


def validate_command(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    document = json.loads(text)
    contracts.validate(args.contract, document)
    print(f"{args.contract}: valid")
    return 0


def add_training_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--training-set", help="directory from `./reefguard features export`")
    parser.add_argument(
        "--sample-data", action="store_true", help="export the shipped sample observations first"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny models (smoke tests)")
    parser.add_argument("--no-mlflow", action="store_true", help="skip MLflow logging")
    parser.add_argument(
        "--later-years",
        help="years without labels whose GBR pixels the report ranks against the annual max "
        "DHW, e.g. 2016,2017 (default; none with --quick), or none",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reefguard-trainer", description=__doc__)
    stages = parser.add_subparsers(dest="stage", required=True)
    validate = stages.add_parser("validate", help="check a JSON document against a core contract")
    validate.add_argument("contract", help="contract name, e.g. model-card")
    validate.add_argument("file", help="JSON file, or - for standard input")
    validate.set_defaults(run=validate_command)

    train = stages.add_parser("train", help="validate, train, export ONNX, register")
    add_training_inputs(train)
    train.add_argument("--trials", type=int, default=0, help="tune first with N Optuna trials")
    train.add_argument("--json", action="store_true")
    train.set_defaults(run=train_command)

    tune = stages.add_parser("tune", help="Optuna TPE search (SQLite or PostgreSQL study)")
    add_training_inputs(tune)
    tune.add_argument("--trials", type=int, default=50)
    tune.add_argument("--storage", help="study storage URL (default REEFGUARD_OPTUNA_STORAGE)")
    tune.set_defaults(run=tune_command)

    katib = stages.add_parser("katib", help="write the Katib Experiment from the search space")
    katib.add_argument("--out", default="-")
    katib.add_argument("--image", default="ghcr.io/reefguard/trainer:latest")
    katib.add_argument("--trials", type=int, default=50)
    katib.add_argument("--parallel", type=int, default=4)
    katib.set_defaults(run=katib_command)

    trial = stages.add_parser("trial", help="one tuning trial at fixed knobs (Katib)")
    add_training_inputs(trial)
    from reefguard_trainer.search_space import SEARCH_SPACE

    for knob in SEARCH_SPACE:
        kind = {"int": int, "float": float, "categorical": int}[knob.kind]
        trial.add_argument(f"--{knob.name}", type=kind, required=True)
    trial.set_defaults(run=trial_command)

    worker = stages.add_parser("retrain-worker", help="train on retrain requests from NATS")
    add_training_inputs(worker)
    worker.set_defaults(run=retrain_worker_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except contracts.ContractError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
