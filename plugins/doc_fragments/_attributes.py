# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes every module of the collection shares. Private to the collection."""

from __future__ import annotations


class ModuleDocFragment:
    # What check_mode and diff_mode mean; each module states its support and the details.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
"""

    ACTIONGROUP_HOSTREACH = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/hostreach.kind.hostreach) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - hostreach.kind.hostreach
"""
