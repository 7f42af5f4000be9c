"""``streamcd serve``'s defaults and address rule, without the server's dependencies (the CLI
builds its parser from these whether or not ``streamcd[serve]`` is installed)."""

from __future__ import annotations

import ipaddress

#: Most frames per second one viewer gets (the page is for eyes; a file stream may run at 250).
DEFAULT_VIEW_FPS = 25.0
#: Environment variable holding the access token (keeps it out of the process list).
TOKEN_ENV = "STREAMCD_TOKEN"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
