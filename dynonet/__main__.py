"""`python -m dynonet ...`: the `dynonet` command without an installed entry point."""

from dynonet.cli import main

raise SystemExit(main())
