"""The nodeport_services summary filters: the rows from kind_nodeport's results, and the table a person reads."""

from __future__ import annotations

from ansible_collections.hostreach.kind.plugins.filter import nodeport_summary as summary


def service(name: str, urls: list, skip: str | None = None, endpoints: dict | None = None, changed: bool = True) -> dict:
    return {"namespace": "shop", "name": name, "type_after": "NodePort", "changed": changed, "skip_reason": skip, "urls": urls, "endpoints": endpoints}


def probe(url: str, diagnosis: str, hint: str = "", status: int | None = None) -> dict:
    return {"url": url, "reachable": diagnosis == "reachable", "diagnosis": diagnosis, "hint": hint, "status": status, "waited": 0.4}


RESULTS = [
    {
        "item": "dev",
        "services": [
            service("web", ["http://172.18.0.2:30080"]),
            service("api", ["http://172.18.0.2:30081"], endpoints={"ready": 0, "not_ready": 2, "selector": "app=api"}),
            service("db", []),
            service("web-headless", [], skip="headless Service (clusterIP: None) cannot have nodePorts"),
            service("admin", ["http://172.18.0.2:30082", "https://172.18.0.2:30443"]),
        ],
        "probes": [
            probe("http://172.18.0.2:30080", "reachable", status=200),
            probe("http://172.18.0.2:30081", "no ready endpoints", "scale it up"),
            probe("http://172.18.0.2:30082", "refused", "kube-proxy, or the targetPort"),
            probe("https://172.18.0.2:30443", "refused", "kube-proxy again"),
        ],
    },
    {"item": "other", "skipped": True, "skip_reason": "Conditional result was False"},
]


def test_one_row_per_url_and_one_per_service_without_a_url() -> None:
    rows = summary.summary_rows(RESULTS)
    assert [(r["cluster"], r["service"], r["url"], r["diagnosis"]) for r in rows] == [
        ("dev", "web", "http://172.18.0.2:30080", "reachable"),
        ("dev", "api", "http://172.18.0.2:30081", "no ready endpoints"),
        ("dev", "db", None, "no URL"),
        ("dev", "web-headless", None, "skipped"),
        ("dev", "admin", "http://172.18.0.2:30082", "refused"),
        ("dev", "admin", "https://172.18.0.2:30443", "refused"),
    ]
    assert rows[0] | {"waited": None} == {
        "cluster": "dev",
        "namespace": "shop",
        "service": "web",
        "type": "NodePort",
        "changed": True,
        "skipped": None,
        "url": "http://172.18.0.2:30080",
        "reachable": True,
        "diagnosis": "reachable",
        "hint": "",
        "status": 200,
        "waited": None,
        "endpoints": None,
    }
    assert rows[3]["hint"] == "headless Service (clusterIP: None) cannot have nodePorts"


def test_a_url_without_a_probe_is_not_probed() -> None:
    rows = summary.summary_rows([{"item": "dev", "services": [service("web", ["http://172.18.0.2:30080"])]}])
    assert [(r["diagnosis"], r["reachable"], r["waited"]) for r in rows] == [("not probed", None, 0)]
    assert summary.summary_table(rows)[-1] == "0 reachable, 0 without ready endpoints, 0 unreachable, 1 not probed"


def test_the_table_groups_reachable_first_counts_and_gives_each_reasons_hint_once() -> None:
    lines = summary.summary_table(summary.summary_rows(RESULTS))
    assert lines == [
        "CLUSTER  SERVICE            URL                       RESULT",
        "dev      shop/web           http://172.18.0.2:30080   reachable (HTTP 200)",
        "dev      shop/admin         http://172.18.0.2:30082   refused",
        "dev      shop/admin         https://172.18.0.2:30443  refused",
        "dev      shop/api           http://172.18.0.2:30081   no ready endpoints (2 not ready)",
        "dev      shop/db            -                         no URL",
        "dev      shop/web-headless  -                         skipped: headless Service (clusterIP: None) cannot have nodePorts",
        "1 reachable, 1 without ready endpoints, 2 unreachable, 2 without a URL",
        "refused (2): kube-proxy, or the targetPort (and 1 more like it: see the rows above)",
        "no ready endpoints (1): scale it up",
    ]


def test_no_ready_endpoints_names_the_selector_when_no_pod_matches() -> None:
    row = {"diagnosis": "no ready endpoints", "skipped": None, "status": None, "endpoints": {"ready": 0, "not_ready": 0, "selector": "app=api"}}
    assert summary.result_text(row) == "no ready endpoints (no pod matches app=api)"
    assert summary.result_text(row | {"endpoints": None}) == "no ready endpoints"


def test_rows_sort_within_their_group_across_clusters() -> None:
    results = [
        {"item": "b", "services": [service("web", ["http://10.0.0.2:30001"])], "probes": [probe("http://10.0.0.2:30001", "reachable", status=200)]},
        {"item": "a", "services": [service("zeta", ["http://10.0.0.3:30002"]), service("alpha", ["http://10.0.0.3:30003"])]},
    ]
    rows = summary.summary_rows(results)
    assert [line.split()[:2] for line in summary.summary_table(rows)[1:4]] == [["b", "shop/web"], ["a", "shop/alpha"], ["a", "shop/zeta"]]


def test_nothing_matched() -> None:
    assert summary.summary_table([]) == ["CLUSTER  SERVICE  URL  RESULT", "no Services matched", "0 reachable, 0 without ready endpoints, 0 unreachable"]
    assert summary.summary_table([], "absent") == ["CLUSTER  SERVICE  NAMESPACE  NOW", "no Services matched"]


def test_the_restored_table_says_what_each_service_is_now() -> None:
    rows = summary.summary_rows(
        [{"item": "dev", "services": [service("web", []) | {"type_after": "ClusterIP"}, service("db", [], changed=False) | {"type_after": "ClusterIP"}]}]
    )
    assert summary.summary_table(rows, "absent") == [
        "CLUSTER  SERVICE  NAMESPACE  NOW",
        "dev      db       shop       ClusterIP",
        "dev      web      shop       ClusterIP (restored)",
    ]


def test_the_filters_are_registered_under_their_documented_names() -> None:
    assert summary.FilterModule().filters() == {
        "nodeport_summary_rows": summary.summary_rows,
        "nodeport_summary_file": summary.summary_file,
        "nodeport_summary_table": summary.summary_table,
        "nodeport_url_findings": summary.url_findings,
    }


def test_the_summary_file_holds_what_the_cluster_is_not_what_the_run_did() -> None:
    """A rerun that changes nothing (changed false, waited 0) must write the same file as the run that changed it."""
    rows = summary.summary_rows(RESULTS)
    first = summary.summary_file(rows)
    rerun = summary.summary_file([row | {"changed": not row["changed"], "waited": row["waited"] + 2.5} for row in rows])
    assert first == rerun and len(first) == len(rows)
    assert set(first[0]) == set(summary.FILE_KEYS) and first[0]["url"] == rows[0]["url"]


def test_each_probed_url_is_a_doctor_line_ok_na_or_broken_with_its_hint_as_the_fix() -> None:
    probes = [
        {"url": "http://10.0.0.2:30080", "reachable": True, "diagnosis": "reachable", "status": 200, "hint": "", "error": ""},
        {"url": "http://10.0.0.2:30081", "reachable": False, "diagnosis": "no ready endpoints", "hint": "no pod matches app=x", "error": ""},
        {"url": "http://10.0.0.2:30053", "reachable": None, "diagnosis": "not probed", "hint": "ask it with dig", "error": ""},
        {"url": "http://10.0.0.2:30082", "reachable": False, "diagnosis": "refused", "hint": "kube-proxy?", "error": "ECONNREFUSED"},
    ]
    found = summary.url_findings(probes)
    assert [(f["link"], f["status"]) for f in found] == [
        ("URL http://10.0.0.2:30080", "ok"),
        ("URL http://10.0.0.2:30081", "n/a"),
        ("URL http://10.0.0.2:30053", "n/a"),
        ("URL http://10.0.0.2:30082", "broken"),
    ]
    assert found[0]["detail"] == "reachable (HTTP 200)"
    assert found[1]["detail"] == "no ready endpoints: no pod matches app=x"
    assert found[2]["detail"] == "not probed" and found[2]["fix"] == "ask it with dig"
    assert found[3]["detail"] == "refused: ECONNREFUSED" and found[3]["fix"] == "kube-proxy?"
    assert summary.url_findings(None) == []
