"""``python -m reformsim`` runs the CLI."""

from reformsim.cli import main

raise SystemExit(main())
