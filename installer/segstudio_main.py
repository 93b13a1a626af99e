"""The bundle's entry point: the same ``segstudio`` command as the pip-installed console script."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # DataLoader workers re-run the executable where fork is not used
    from segstudio.cli import main

    sys.exit(main())
