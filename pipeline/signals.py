"""The one list of policy signals; every other module takes it from here."""

SIGNALS: tuple[str, ...] = ("ideology", "reform", "export", "technology", "risk")


def named(flags, separator: str = ",") -> str:
    """The signals a row of 0/1 flags (in SIGNALS order) sets, joined by `separator`."""
    return separator.join(s for s, f in zip(SIGNALS, flags) if f)
