"""The error hierarchy's reporting: failures over many objects told once per kind, fail_json's arguments."""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.module_utils._errors import InputError, KubeError, KubeForbidden, failure, summarize, summarize_names


def test_the_same_failure_over_many_objects_is_told_once_with_the_names_capped() -> None:
    forbidden = [
        (f"ns/s{i}", KubeForbidden(f"forbidden: may not patch services. API server said: s{i} is forbidden", summary="forbidden: may not patch services"))
        for i in range(30)
    ]
    other = [("ns/x", KubeError("patch services failed (HTTP 422): bad", summary="patch services failed (HTTP 422 Unprocessable)"))]
    text = summarize(forbidden + other)
    assert text == (
        "forbidden: may not patch services (for ns/s0. API server said: s0 is forbidden) "
        "[30 Services: ns/s0, ns/s1, ns/s2, ns/s3, ns/s4, ns/s5, ns/s6, ns/s7, ns/s8, ns/s9 and 20 more]; "
        "patch services failed (HTTP 422): bad [1 Service: ns/x]"
    )


def test_names_are_counted() -> None:
    assert summarize_names(["a/b"]) == "1 Service: a/b"
    assert summarize_names([f"a/{i}" for i in range(12)]).endswith("a/9 and 2 more")


def test_failure_reports_what_was_written_and_keeps_details() -> None:
    written = failure(KubeError("half done", written=["ns/a"], path="/x"))
    assert (written["msg"], written["changed"], written["written"], written["path"]) == ("half done", True, ["ns/a"], "/x")
    nothing = failure(InputError("bad input"))
    assert nothing["changed"] is False and "written" not in nothing and "InputError: bad input" in nothing["exception"]
