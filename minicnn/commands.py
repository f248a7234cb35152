"""The registry of ``minicnn`` subcommands, below every module that defines one.

Each subcommand is a :class:`Command`: a function that adds its arguments to an argparse
subparser and a function that runs it and returns the exit code. Decorating the run function
with :func:`command` is all it takes to add one; the modules that define commands
(:mod:`minicnn.training.commands`, :mod:`minicnn.study.commands`,
:mod:`minicnn.benchmark.commands`) import this registry, and :mod:`minicnn.cli` imports them,
so no command module imports the command line that calls it.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

AddArguments = Callable[[argparse.ArgumentParser], None]
RunCommand = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: AddArguments
    run: RunCommand


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, add_arguments: AddArguments) -> Callable[[RunCommand], RunCommand]:
    """Decorator registering ``run(args) -> exit code`` as the subcommand ``name``."""

    def register(run: RunCommand) -> RunCommand:
        if name in COMMANDS:
            raise ValueError(f"minicnn command {name!r} is registered twice")
        COMMANDS[name] = Command(name, help, add_arguments, run)
        return run

    return register
