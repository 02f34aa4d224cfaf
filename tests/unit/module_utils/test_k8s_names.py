"""Namespace and Service names are checked before any request: an empty or path-like name would widen or
move the request's scope (an empty namespace makes a namespaced LIST cluster-wide, `..` walks into another)."""

from __future__ import annotations

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _k8s_names
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize("name", ["default", "kube-system", "a", "0abc", "x" * 63, "team-1-dev"])
def test_valid_labels_pass(name: str) -> None:
    assert _k8s_names.label_problem(name) is None


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "is empty"),
        ("..", "not a DNS-1123 label"),
        (".", "not a DNS-1123 label"),
        ("a/b", "not a DNS-1123 label"),
        ("Default", "not a DNS-1123 label"),
        ("-web", "not a DNS-1123 label"),
        ("web-", "not a DNS-1123 label"),
        (" web", "not a DNS-1123 label"),
        ("a%2f..", "not a DNS-1123 label"),
        ("x" * 64, "64 characters long"),
        (None, "must be a string"),
        (5, "must be a string"),
    ],
)
def test_invalid_names_are_refused_saying_why(name: object, says: str) -> None:
    assert says in _k8s_names.label_problem(name)


@given(st.text())
def test_anything_accepted_is_a_single_plain_path_segment(name: str) -> None:
    if _k8s_names.label_problem(name) is None:
        assert name and "/" not in name and name not in (".", "..") and name == name.strip() and len(name) <= 63


def test_every_bad_entry_is_named_by_its_option_and_index() -> None:
    problems = _k8s_names.name_problems(
        [{"name": "web", "namespace": ".."}, {"name": "", "namespace": "default"}],
        ["adv", ""],
    )
    assert problems == [
        "namespaces[1] is empty (an empty entry never means every namespace)",
        "services[0].namespace '..' is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)",
        "services[1].name is empty (an empty entry never means every namespace)",
    ]
