"""What the engine's command lines share: a bad argument or file prints one line
and exits with code 2."""
import argparse
import sys


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its usage errors as one line and exit code 2."""

    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def run_command(run, args):
    """run(args); a ValueError (a bad value or file) becomes one line and exit code 2."""
    try:
        run(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
