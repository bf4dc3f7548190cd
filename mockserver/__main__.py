"""`python -m mockserver` runs the `jobmock` command."""

from mockserver.cli import main

main()
