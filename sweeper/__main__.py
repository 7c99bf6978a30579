"""`python -m sweeper` runs the same CLI as the `sweeper` console script."""

from sweeper.cli.app import main

if __name__ == "__main__":
    main()
