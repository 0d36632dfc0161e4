"""Trainer CLI: one subcommand per stage (`python -m reefguard_trainer STAGE ...`)."""

import argparse
import json
import sys
from pathlib import Path

from reefguard_trainer import contracts


def validate_command(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    document = json.loads(text)
    contracts.validate(args.contract, document)
    print(f"{args.contract}: valid")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reefguard-trainer", description=__doc__)
    stages = parser.add_subparsers(dest="stage", required=True)
    validate = stages.add_parser("validate", help="check a JSON document against a core contract")
    validate.add_argument("contract", help="contract name, e.g. model-card")
    validate.add_argument("file", help="JSON file, or - for standard input")
    validate.set_defaults(run=validate_command)
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
