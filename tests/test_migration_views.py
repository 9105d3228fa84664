"""The migration page (GET/POST /admin/processes/<key>/<version>/migration) and its API
(/api/v1/process-definitions/<key>/<version>/migration): admins only. The rules: tests/test_migration.py."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_token_from
from tests.engine_helpers import dump_tables, instance_of
from tests.migration_helpers import (
    at_consultation,
    deploy_version,
    migrated_events,
    started,
    version_of,
    with_legal_review,
)

# --- the page -------------------------------------------------------------------------------------


def test_the_page_lists_both_kinds_and_migrates_the_ticked_ones(app, client, auth):
    drafting, reviewing, consulting = started("1.a"), started("1.b", "draft"), at_consultation("3.c")
    deploy_version(with_legal_review())
    auth.login("admin")
    url = "/admin/processes/draft_plan/2/migration"

    page = client.get(url)

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    movable = html.split('id="movable-instances"')[1].split("</table>")[0]
    blocked = html.split('id="blocked-instances"')[1].split("</table>")[0]
    for task_obj in (drafting, reviewing):
        instance_id = instance_of(task_obj).id
        assert f'name="instance_id" value="{instance_id}" id="instance-{instance_id}" checked' in movable
    assert "1.a" in movable and "Soạn thảo dự thảo Kế hoạch" in movable and "3.c" not in movable
    assert "3.c" in blocked and "review_decision" in blocked and "Góp ý dự thảo" in blocked
    assert 'name="instance_id"' not in blocked

    token = csrf_token_from(html)
    response = client.post(
        url, data={"csrf_token": token, "instance_id": [str(instance_of(drafting).id)]}, follow_redirects=True
    )

    assert response.status_code == 200
    assert "Đã chuyển 1 hồ sơ sang phiên bản mới." in response.get_data(as_text=True)
    assert (version_of(drafting), version_of(reviewing), version_of(consulting)) == (2, 1, 1)
    assert [e.instance_id for e in migrated_events()] == [instance_of(drafting).id]


def test_the_page_refuses_a_post_without_csrf_and_reports_skips(app, client, auth):
    consulting = at_consultation("1.a")
    deploy_version(with_legal_review())
    auth.login("admin")
    url = "/admin/processes/draft_plan/2/migration"
    before = dump_tables()
    assert client.post(url, data={"instance_id": [str(instance_of(consulting).id)]}).status_code == 400
    assert dump_tables() == before

    token = csrf_token_from(client.get(url).get_data(as_text=True))
    response = client.post(
        url,
        data={"csrf_token": token, "instance_id": [str(instance_of(consulting).id), "x", "-1"]},
        follow_redirects=True,
    )

    html = response.get_data(as_text=True)
    assert (
        "Đã chuyển 0 hồ sơ sang phiên bản mới." in html and "Bỏ qua 1" in html and "review_decision" in html
    )
    assert version_of(consulting) == 1
    assert client.get("/admin/processes/draft_plan/9/migration").status_code == 404
    assert client.get("/admin/processes/nope/1/migration").status_code == 404


@pytest.mark.parametrize("username", ["cntt.tp", "giamdoc", "giamsat"])
def test_the_page_is_for_admins_only(app, client, auth, username):
    drafting = started("1.a")
    deploy_version(with_legal_review())
    auth.login(username)
    url = "/admin/processes/draft_plan/2/migration"
    before = dump_tables()
    assert client.get(url).status_code == 403
    token = csrf_token_from(client.get("/plans").get_data(as_text=True))
    assert (
        client.post(
            url, data={"csrf_token": token, "instance_id": [str(instance_of(drafting).id)]}
        ).status_code
        == 403
    )
    assert dump_tables() == before


# --- the API --------------------------------------------------------------------------------------


def test_api_preview_and_migrate(app, client, api_token):
    drafting, consulting = started("1.a"), at_consultation("1.b")
    deploy_version(with_legal_review())
    headers = {"Authorization": f"Bearer {api_token('admin')}"}
    url = "/api/v1/process-definitions/draft_plan/2/migration"

    body = client.get(url, headers=headers).get_json()

    assert body["movable"] == [
        {
            "instance_id": instance_of(drafting).id,
            "task_id": drafting.id,
            "task_code": "1.a",
            "task_title": drafting.title,
            "from_version": 1,
            "steps": [{"step": "draft", "name": "Soạn thảo dự thảo Kế hoạch"}],
        }
    ]
    [blocked] = body["blocked"]
    assert (blocked["instance_id"], blocked["task_code"], blocked["from_version"]) == (
        instance_of(consulting).id,
        "1.b",
        1,
    )
    assert len(blocked["reasons"]) == 2 and any("review_decision" in r for r in blocked["reasons"])

    response = client.post(url, json={}, headers=headers)  # no list: every movable instance

    assert response.status_code == 200
    assert response.get_json()["migrated"] == [instance_of(drafting).id]
    assert response.get_json()["skipped"] == [
        {"instance_id": instance_of(consulting).id, "reason": " ".join(blocked["reasons"])}
    ]
    assert (version_of(drafting), version_of(consulting)) == (2, 1)


def test_api_post_with_ids_and_errors(app, client, api_token):
    first, second = started("1.a"), started("1.b")
    deploy_version(with_legal_review())
    headers = {"Authorization": f"Bearer {api_token('admin')}"}
    url = "/api/v1/process-definitions/draft_plan/2/migration"
    before = dump_tables()
    for bad in (
        {"instance_ids": "1"},
        {"instance_ids": [True]},
        {"instance_ids": [0]},
        {"instance_ids": [2**70]},
    ):
        response = client.post(url, json=bad, headers=headers)
        assert response.status_code == 400 and set(response.get_json()["details"]) == {"instance_ids"}
    assert client.post(url, data="[1]", content_type="application/json", headers=headers).status_code == 400
    for missing in (
        "/api/v1/process-definitions/draft_plan/3/migration",
        "/api/v1/process-definitions/x/2/migration",
    ):
        for method in (client.get, client.post):
            response = method(missing, headers=headers)
            assert response.status_code == 404 and response.get_json()["error"]
    assert dump_tables() == before

    response = client.post(url, json={"instance_ids": [instance_of(second).id]}, headers=headers)

    assert response.get_json() == {"migrated": [instance_of(second).id], "skipped": []}
    assert (version_of(first), version_of(second)) == (1, 2)


@pytest.mark.parametrize("username", ["cntt.cv", "cntt.tp", "giamdoc", "giamsat"])
def test_api_is_for_admins_only(app, client, api_token, username):
    started("1.a")
    deploy_version(with_legal_review())
    headers = {"Authorization": f"Bearer {api_token(username)}"}
    url = "/api/v1/process-definitions/draft_plan/2/migration"
    before = dump_tables()
    assert client.get(url, headers=headers).status_code == 403
    response = client.post(url, json={}, headers=headers)
    assert response.status_code == 403 and response.get_json()["error"]
    assert client.get(url).status_code == 401
    assert dump_tables() == before
