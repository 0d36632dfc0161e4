"""Where trained models go: the local model store (read by `./reefguard evaluate`, serving
and the edge) and MLflow (runs, artifacts, the registered model).

Local store: `$REEFGUARD_STATE_DIR/models/<name>/<version>/` with model-card.json and the ONNX
file it names; `aliases.json` = {"champion": v, "challenger": v}. The first model becomes
champion (there is nothing to compare it with); later ones get no alias: moving `challenger`
or `champion` is `./reefguard promote`'s job, behind the policy's gates.
"""

import json
import shutil
from pathlib import Path
from typing import Any

MLFLOW_DB = "mlflow/mlflow.db"


def model_root(state_dir: Path, name: str) -> Path:
    return state_dir / "models" / name


def next_version(state_dir: Path, name: str) -> str:
    root = model_root(state_dir, name)
    versions = [int(p.name) for p in root.glob("*") if p.is_dir() and p.name.isdigit()]
    return str(max(versions, default=0) + 1)


def read_aliases(state_dir: Path, name: str) -> dict[str, str]:
    path = model_root(state_dir, name) / "aliases.json"
    return json.loads(path.read_text()) if path.exists() else {}


def store_model(state_dir: Path, name: str, version: str, source_dir: Path) -> dict[str, str]:
    """Copies the model folder into the store and sets the alias; returns the aliases."""
    target = model_root(state_dir, name) / version
    if target.exists():
        raise FileExistsError(f"{target} exists: model versions are immutable")
    shutil.copytree(source_dir, target)
    aliases = read_aliases(state_dir, name)
    if "champion" not in aliases:
        aliases["champion"] = version
    path = model_root(state_dir, name) / "aliases.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(aliases, indent=2) + "\n")
    temporary.replace(path)
    return aliases


def default_tracking_uri(state_dir: Path) -> str:
    return f"sqlite:///{(state_dir / MLFLOW_DB).resolve()}"


def log_to_mlflow(
    tracking_uri: str,
    state_dir: Path,
    name: str,
    model_dir: Path,
    params: dict[str, Any],
    metrics: dict[str, float],
    tags: dict[str, str],
    plots: list[Path],
) -> dict[str, str]:
    """One run per training: params, metrics, plots and the model folder as artifacts; the
    ONNX file registered as `name` with tags. Returns run id and registered version."""
    import mlflow  # imported here: it is slow to import and only training needs it

    (state_dir / "mlflow").mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.get_experiment_by_name(name)
    # A tracking server keeps the artifacts itself (proxied `mlflow-artifacts:/` URIs that
    # serving downloads through it); only a local SQLite store needs a local folder.
    remote = tracking_uri.startswith(("http://", "https://"))
    experiment_id = (
        experiment.experiment_id
        if experiment
        else mlflow.create_experiment(
            name,
            artifact_location=None
            if remote
            else (state_dir / "mlflow" / "artifacts").resolve().as_uri(),
        )
    )
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        for plot in plots:
            mlflow.log_artifact(str(plot), artifact_path="plots")
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
        artifacts = mlflow.get_artifact_uri("model")
    # The ONNX folder is not an MLflow "flavor" model, so it is registered by its artifact URI.
    client = mlflow.MlflowClient()
    try:
        client.get_registered_model(name)
    except mlflow.exceptions.MlflowException:
        client.create_registered_model(name, tags={"project": "reefguard"})
    registered = client.create_model_version(name, artifacts, run_id=run.info.run_id, tags=tags)
    return {"run_id": run.info.run_id, "registered_version": str(registered.version)}
