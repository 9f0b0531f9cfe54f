"""Allows `python -m bot`, the same as the `dispatch-bot` console script."""

from bot.cli.main import main

main()
