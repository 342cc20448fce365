"""The one list of policy signals; every other module takes it from here."""

SIGNALS: tuple[str, ...] = ("ideology", "reform", "export", "technology", "risk")
