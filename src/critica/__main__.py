"""``python -m critica``: the same as the ``critica`` command."""

from critica.cli import run

if __name__ == "__main__":
    run()
