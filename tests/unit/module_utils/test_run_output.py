"""_run_output: the failed tasks' messages of a playbook run, as the watch agent and the pull run read them."""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.module_utils._run_output import closing_failures, failure_messages

RESCUED = 'fatal: [localhost]: FAILED! => {"changed": false, "msg": "kubeconfig /k has no context \'kind-gone\'"}\n'
CLOSING = (
    'fatal: [localhost]: FAILED! => {"msg": "localhost failed at \\"Switch the Services\\": kubeconfig /k has no context \'kind-gone\'", "changed": false}\n'
)
OTHERS = 'fatal: [mac2]: FAILED! => {not json}\nfatal: [mac3]: FAILED! => ["a list"]\nfatal: [mac4]: FAILED! => {"changed": false}\n'


def test_every_failed_tasks_message_in_order_whatever_the_key_order() -> None:
    assert failure_messages(RESCUED + "TASK [x]\n" + CLOSING) == [
        "kubeconfig /k has no context 'kind-gone'",
        "localhost failed at \"Switch the Services\": kubeconfig /k has no context 'kind-gone'",
    ]


def test_a_result_that_is_no_json_object_or_has_no_message_is_left_out() -> None:
    assert failure_messages(OTHERS) == []
    assert failure_messages('ok: [localhost]\n  fatal: [x]: FAILED! => {"msg": "indented: not the callback\'s line"}\n') == []


def test_the_closing_plays_messages_leave_the_rescued_tasks_own_line_out() -> None:
    assert closing_failures(RESCUED + OTHERS + CLOSING) == ["localhost failed at \"Switch the Services\": kubeconfig /k has no context 'kind-gone'"]
