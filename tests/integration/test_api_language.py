"""A refusal from the exchange service, said by the hub in the language the client asks for
(Accept-Language): the problem's ``detail`` and field messages, not only its ``title``."""

from __future__ import annotations

import httpx

from casebridge.bootstrap import Container
from casebridge.services.setup import initialise


def test_exchange_refusal_detail_follows_accept_language(
    client: httpx.Client, container: Container
) -> None:
    with container.uow() as uow:
        token = initialise(uow).issued_tokens["police.handler"]
    body = {
        "node": "no_such_node",
        "receiver_agency": "DEMO350102JCY",
        "payload": {"case": {"title": "张三盗窃案"}},
        "idempotency_key": "police-language-0001",
    }

    def send(accept_language: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": accept_language}
        return client.post("/api/v1/exchanges", json=body, headers=headers)

    en = send("en")
    assert en.status_code == 422, en.text
    assert en.headers["content-language"] == "en"
    assert en.json()["detail"] == "unknown collaboration node 'no_such_node'"
    [problem] = en.json()["problems"]
    assert problem["field"] == "node"
    assert problem["message"] == "unknown node code or Chinese name"

    zh = send("zh-CN,zh;q=0.9,en;q=0.5")
    assert zh.status_code == 422, zh.text
    assert zh.headers["content-language"] == "zh-Hans"
    assert zh.json()["type"] == "urn:casebridge:problem:invalid-input"  # codes stay as they are
    assert zh.json()["detail"] == "未知的协同节点 'no_such_node'"
    [problem] = zh.json()["problems"]
    assert problem["field"] == "node"
    assert problem["code"] == "no_such_node"
    assert problem["message"] == "未知的协同节点代码或中文名称"
