"""docker-connector config text shared by the unit tests of the parser and the module and the integration tests of the
module."""

from __future__ import annotations

from pathlib import Path

# One line of every directive docker-connector knows besides `route`, as its README writes them, and a blank line.
DIRECTIVES = (
    "# docker-connector config\n"
    "addr 192.168.251.1/24\n"
    "port 2511\n"
    "mtu 1400\n"
    "host 127.0.0.1\n"
    "\n"
    "iptables 172.0.1.0+172.0.2.0\n"
    "token mac 192.168.251.4\n"
    "hosts /etc/hosts .local .inc\n"
    "proxy 127.0.0.1:80\n"
    "expose 0.0.0.0:2512\n"
)

# A config as it was before a run that must change nothing: check_untouched says it still is.
EXISTING = "addr 192.168.251.1/24\nroute 172.17.0.0/16\n"


def check_untouched(path: Path) -> None:
    """`path` still holds EXISTING, and nothing was made beside it (no temp file, no lock file)."""
    assert path.read_text() == EXISTING
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
