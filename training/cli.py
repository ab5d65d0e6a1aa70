"""What every `python -m training.X` command does with a user's mistake.

A missing file, a run folder that already exists or a bad setting (the
FileNotFoundError, FileExistsError and ValueError the trainers raise) ends the
command with one `error: ...` line on stderr and exit status 2, not a traceback.
"""
import functools
import sys

USER_ERRORS = (FileNotFoundError, FileExistsError, ValueError)


def command(main):
    """Decorate a command's `main(argv) -> exit status` so that a user's mistake exits 2."""

    @functools.wraps(main)
    def run(argv=None):
        try:
            return main(argv)
        except USER_ERRORS as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run
