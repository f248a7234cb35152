"""``python -m minicnn`` runs the ``minicnn`` command."""
from .cli import main

raise SystemExit(main())
