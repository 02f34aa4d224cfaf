"""Namespace and Service names are checked before any request: an empty or path-like name would widen or
move the request's scope (an empty namespace makes a namespaced LIST cluster-wide, `..` walks into another)."""

from __future__ import annotations

import pytest
from ansible_collections.hostreach.kind.plugins.module_utils import _k8s_names
from ansible_collections.hostreach.kind.plugins.module_utils._errors import InputError
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


# A kind cluster name: kind's own rule (validNameRE `^[a-z0-9.-]+$`, sigs.k8s.io/kind pkg/internal/apis/config/validate.go)
# and at most 50 characters (clusterNameMax, pkg/cluster/internal/create/create.go). It reaches the kube context,
# docker-connector.conf's marker comment and the resolver file's, so a newline would write a line of its own.
KIND_NAME_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789.-"


@pytest.mark.parametrize("name", ["kind", "dev", "my-cluster", "a", "0", "v1.34", "x" * 50, "kind-2"])
def test_names_kind_accepts_pass(name: str) -> None:
    assert _k8s_names.cluster_name_problem(name) is None
    _k8s_names.require_cluster_name(name)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "'' is not a kind cluster name: it is empty"),
        ("kind\n", "'kind\\n' is not a kind cluster name: its character '\\n' at position 4"),
        ("dev\nroute 0.0.0.0/1", "'dev\\nroute 0.0.0.0/1' is not a kind cluster name: its character '\\n' at position 3"),
        ("Kind", "'Kind' is not a kind cluster name: its character 'K' at position 0"),
        ("my_cluster", "character '_' at position 2"),
        ("a b", "character ' ' at position 1"),
        ("a/b", "character '/' at position 1"),
        ("dev\r", "character '\\r' at position 3"),
        ("dév", "character 'é' at position 1"),
        ("x" * 51, f"{'x' * 51!r} is not a kind cluster name: it is 51 characters long, more than 50"),
        (None, "None is not a kind cluster name: it must be a string, not NoneType"),
        (5, "5 is not a kind cluster name: it must be a string, not int"),
    ],
)
def test_names_kind_refuses_are_refused_quoting_the_value(name: object, says: str) -> None:
    assert says in _k8s_names.cluster_name_problem(name)


def test_a_long_refused_name_is_quoted_cut_short_with_its_length() -> None:
    problem = _k8s_names.cluster_name_problem("a" * 100 + "\n")
    assert problem.startswith(f"{'a' * 80!r}... (101 characters) is not a kind cluster name: its character '\\n' at position 100")


def test_require_cluster_name_raises_input_error_naming_the_option_and_the_value() -> None:
    with pytest.raises(InputError) as raised:
        _k8s_names.require_cluster_name("dev\nhost 0.0.0.0", "cluster")
    assert str(raised.value).startswith("cluster 'dev\\nhost 0.0.0.0' is not a kind cluster name: its character '\\n' at position 3")
    assert str(raised.value).endswith("; nothing was asked of the cluster or changed")


@given(st.text(alphabet=KIND_NAME_ALPHABET, min_size=1, max_size=50))
def test_every_name_in_kinds_alphabet_up_to_50_characters_passes(name: str) -> None:
    assert _k8s_names.cluster_name_problem(name) is None


@given(
    st.text(alphabet=KIND_NAME_ALPHABET, max_size=20),
    st.characters().filter(lambda c: c not in KIND_NAME_ALPHABET),
    st.text(alphabet=KIND_NAME_ALPHABET, max_size=20),
)
def test_any_character_outside_kinds_set_is_refused_and_shown_with_repr(before: str, bad: str, after: str) -> None:
    name = before + bad + after
    problem = _k8s_names.cluster_name_problem(name)
    assert problem is not None
    assert problem.startswith(f"{name!r} is not a kind cluster name: its character {bad!r} at position {len(before)}")
    assert "\n" not in problem and "\r" not in problem  # the value is quoted, never written out raw


@given(st.text(alphabet=KIND_NAME_ALPHABET, min_size=51, max_size=300))
def test_any_name_longer_than_50_characters_is_refused(name: str) -> None:
    assert f"it is {len(name)} characters long, more than 50" in _k8s_names.cluster_name_problem(name)


@given(st.text())
def test_anything_accepted_is_in_kinds_set_and_is_one_line_of_at_most_50_characters(name: str) -> None:
    if _k8s_names.cluster_name_problem(name) is None:
        assert 0 < len(name) <= 50 and set(name) <= set(KIND_NAME_ALPHABET)
    else:
        assert "\n" not in _k8s_names.cluster_name_problem(name)
