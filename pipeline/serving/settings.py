"""Server settings: defaults, POLICY_SIGNALS_* environment variables, and the checks made before binding.

The environment carries the settings to uvicorn's worker processes, so every
worker serves the same pinned model with the same limits and token.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields

from pipeline.config import InputError

PREFIX = "POLICY_SIGNALS_"
MIN_TOKEN_CHARS = 16
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


@dataclass(frozen=True)
class Settings:
    """What one server process needs; each field is also the env variable POLICY_SIGNALS_<FIELD>."""
    model: str = "models"              # bundle directory or MLflow URI
    host: str = "127.0.0.1"
    token: str = ""                    # required when `host` is not loopback
    explain: int = 3                   # top n-grams per flagged signal (0: off)
    max_body_bytes: int = 8 * 2**20    # request body
    max_texts: int = 2000              # texts per request, and paragraphs a document may split into
    max_text_chars: int = 2_000_000    # characters of one text, or of the document
    model_sha256: str = ""             # pin: a worker refuses a bundle with other bytes

    @classmethod
    def from_env(cls, environ=os.environ, **overrides) -> "Settings":
        """Defaults, overridden by POLICY_SIGNALS_* variables, overridden by non-None `overrides`."""
        values = {}
        for field in fields(cls):
            name = PREFIX + field.name.upper()
            raw = overrides.get(field.name)
            if raw is None and name in environ:
                raw = environ[name]
                if field.type == "int":
                    try:
                        raw = int(raw)
                    except ValueError:
                        raise InputError(f"${name}", f"must be an integer, got {raw!r}") from None
            if raw is not None:
                values[field.name] = raw
        return cls(**values).checked()

    def env(self) -> dict[str, str]:
        """The settings as POLICY_SIGNALS_* variables (for worker processes)."""
        return {PREFIX + f.name.upper(): str(getattr(self, f.name)) for f in fields(self)}

    def checked(self) -> "Settings":
        """Refuse limits out of range, and a non-loopback address without a strong enough token."""
        for name in ("max_body_bytes", "max_texts", "max_text_chars"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')}", f"must be >= 1, got {getattr(self, name)}")
        if self.explain < 0:
            raise InputError("--explain", f"must be >= 0, got {self.explain}")
        if self.token and not (self.token.isascii() and self.token.isprintable() and " " not in self.token):
            raise InputError("--token", "must be printable ASCII without spaces (a client could not send it in a "
                                        "header otherwise)")
        if self.token and len(self.token) < MIN_TOKEN_CHARS:
            raise InputError("--token", f"must be at least {MIN_TOKEN_CHARS} characters "
                                        "(python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        if not self.token and not is_loopback(self.host):
            raise InputError("--host", f"{self.host} is reachable from other machines; binding it needs a token "
                                       f"(--token or ${PREFIX}TOKEN)")
        return self


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost; anything else (0.0.0.0, a LAN address, a name) is not."""
    host = host.strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
