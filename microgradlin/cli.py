"""The ``microgradlin`` command line."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="microgradlin",
        description="microgradlin: a small reverse-mode autodiff engine for linear networks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="train a tiny linear regression and show the loss fall")
    demo.add_argument("--out", default="mg-demo", help="folder for the results (default: %(default)s)")
    demo.add_argument("--epochs", type=int, default=200, help="gradient-descent steps")
    demo.add_argument("--seed", type=int, default=0)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(out=args.out, epochs=args.epochs, seed=args.seed)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
