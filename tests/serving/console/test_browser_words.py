"""The console shows the words people read, not the model's ids (in a real browser, real server).

GET /v1/model gives each task's ``title`` and ``display`` names and the policy's
``channel_titles`` (configs/default.yaml and data/priority_policy.yaml: "Şebeke ve hizmet
kalitesi", "Sosyal medya"…); what goes back to the API — filters, corrections — stays the raw id.
"""

from __future__ import annotations

import re

import httpx

from tests.serving.console.test_browser import (  # noqa: F401 - fixtures
    QUEUE,
    browser,
    page,
    server,
    shot,
)

TOPIC, TOPIC_WORDS = "sebeke_hizmet_kalitesi", "Şebeke ve hizmet kalitesi"


def _display(base: str) -> dict[str, dict[str, str]]:
    model = httpx.get(f"{base}/v1/model").json()
    return {t["name"]: t["display"] for t in model["tasks"]}


def _cells(tab, column: int) -> list[str]:
    return tab.eval_on_selector_all(
        f"#queue-body tr.item td:nth-child({column})", "cells => cells.map(c => c.textContent)"
    )


def test_the_model_gives_the_words_of_the_default_config(server):  # noqa: F811
    model = httpx.get(f"{server}/v1/model").json()
    topic = next(t for t in model["tasks"] if t["name"] == "topic")
    assert topic["title"] == "Konu" and topic["display"][TOPIC] == TOPIC_WORDS
    assert model["channel_titles"]["sosyal_medya"] == "Sosyal medya"


def test_the_queue_shows_display_names_not_ids(page, server):  # noqa: F811
    display = _display(server)
    page.goto(f"{server}/ui#/kuyruk")
    page.wait_for_selector("tr.item")
    items = httpx.get(f"{server}/v1/queue", params={"limit": 50}).json()["items"]
    assert _cells(page, 4) == [display["topic"][i["labels"]["topic"]] for i in items]
    assert _cells(page, 5) == [display["sentiment"][i["labels"]["sentiment"]] for i in items]
    assert _cells(page, 6) == [display["urgency"][i["labels"]["urgency"]] for i in items]
    assert "Web" in _cells(page, 3) and "web" not in _cells(page, 3)  # the policy's title
    body = page.inner_text("#queue-body")
    assert not any(label in body for label in display["topic"])  # no raw topic id
    if any(i["labels"]["topic"] == TOPIC for i in items):
        assert TOPIC_WORDS in body


def test_a_filter_shows_words_and_sends_the_id(page, server):  # noqa: F811
    page.goto(f"{server}/ui#/kuyruk")
    page.wait_for_selector("tr.item")
    option = page.locator(f"select[name=topic] option[value={TOPIC}]")
    assert option.inner_text() == TOPIC_WORDS
    channel = page.locator("select[name=channel] option[value=sosyal_medya]")
    assert channel.inner_text() == "Sosyal medya"
    page.select_option("select[name=topic]", label=TOPIC_WORDS)
    with page.expect_request(QUEUE) as request:
        page.click("#filters button[type=submit]")
    assert f"topic={TOPIC}" in request.value.url
    page.wait_for_function(
        "[...document.querySelectorAll('#queue-body tr.item td:nth-child(4)')]"
        f".every(c => c.textContent === '{TOPIC_WORDS}')"
    )
    expected = httpx.get(f"{server}/v1/queue", params={"topic": TOPIC}).json()["count"]
    assert expected > 0
    assert page.inner_text("#queue-count") == f"{expected} kayıt"


def test_a_correction_shows_words_and_stores_the_raw_label(page, server):  # noqa: F811
    item = httpx.get(f"{server}/v1/queue", params={"limit": 20}).json()["items"][16]
    before = item["labels"]["topic"]
    new_topic = next(t for t in ("magaza_bayi", "diger") if t != before)
    words = _display(server)["topic"][new_topic]
    try:
        page.goto(f"{server}/ui#/kayit/{item['id']}")
        page.wait_for_selector("#item-form")
        texts = page.eval_on_selector_all(
            "select[name=topic] option", "os => os.map(o => [o.value, o.textContent])"
        )
        assert [new_topic, words] in texts and [TOPIC, TOPIC_WORDS] in texts
        assert page.locator("select[name=aksiyon] option[value=evet]").inner_text() == "Evet"
        form = page.inner_text("#item-form")
        assert "Aksiyon gerekli" in form and "Konu" in form
        page.select_option("select[name=topic]", label=words)
        page.click("#item-form button[type=submit]")
        page.wait_for_selector("#saved:has-text('Kaydedildi')")
        stored = httpx.get(f"{server}/v1/feedback/{item['id']}").json()
        assert stored["corrections"]["topic"] == new_topic
        assert stored["labels"]["topic"] == new_topic
        # a reason "aciliyet: yuksek olasılığı 0.57 → +0.39" names the label in words (the saved
        # item's reasons are the server's: the page shows them once reloaded)
        page.reload()
        page.wait_for_selector("#item-form")
        page.click(".item-view details summary")
        shown = page.inner_text(".item-view details")
        urgency = _display(server)["urgency"]
        reasons = stored["priority"]["reasons"]
        assert any(r.startswith("aciliyet: ") for r in reasons), reasons
        for reason in reasons:
            if found := re.match(r"aciliyet: (\w+) olasılığı (\d)\.(\d\d)", reason):
                words, whole, part = urgency[found[1]], found[2], found[3]
                assert f"aciliyet: {words} olasılığı {whole},{part}" in shown  # Turkish decimals
    finally:
        httpx.patch(
            f"{server}/v1/feedback/{item['id']}", json={"corrections": {"topic": before}}
        ).raise_for_status()


def test_the_trend_legends_and_tables_show_words(page, server):  # noqa: F811
    page.goto(f"{server}/ui#/egilimler")
    page.wait_for_selector("#chart-volume svg circle.point")
    legend = page.inner_text("#chart-volume .legend")
    assert "Hepsi" in legend and "hepsi" not in legend
    assert not any(label in legend for label in _display(server)["topic"])
    page.wait_for_selector("#answers tr")
    assert "Web" in page.inner_text("#answers")
    page.locator("#chart-volume circle.point[data-series=hepsi]").last.click()  # still the id
    page.wait_for_selector("#point-texts tr.item")
    assert page.inner_text("#point-texts h2").startswith("Hepsi · ")


def test_an_older_model_without_names_shows_the_ids(page, server):  # noqa: F811
    def bare(route) -> None:
        model = route.fetch().json()
        for task in model["tasks"]:
            task.pop("title", None)
            task.pop("display", None)
        model.pop("channel_titles", None)
        route.fulfill(json=model)

    page.route("**/v1/model", bare)
    page.goto(f"{server}/ui#/kuyruk")
    page.wait_for_selector("tr.item")
    items = httpx.get(f"{server}/v1/queue", params={"limit": 50}).json()["items"]
    assert _cells(page, 4) == [i["labels"]["topic"] for i in items]
    assert _cells(page, 3) == [i["channel"] for i in items]
    assert page.locator(f"select[name=topic] option[value={TOPIC}]").inner_text() == TOPIC
    assert "Konu" in page.inner_text("thead")  # the console's own word for the role


ALERT = {
    "id": 1,
    "rule": "konu_artisi",
    "kind": "volume_spike",
    "title": "Konu hacmi arttı",
    "message": "son 24 saatte 40 kayıt",
    "group": {"channel": "sosyal_medya", "topic": TOPIC},
    "numbers": {},
    "feedback_id": None,
    "created_at": "2026-03-10T09:00:00+03:00",
    "acknowledged": False,
    "acknowledged_at": None,
    "acknowledged_by": None,
    "deliveries": [],
}


def test_alert_cards_name_their_kind_and_group_in_turkish(page, server):  # noqa: F811
    alert = ALERT
    overdue = {**alert, "id": 2, "kind": "overdue", "group": {"level": "P1"}}
    page.route(
        re.compile(r"/v1/alerts\b"),
        lambda route: route.fulfill(json={"count": 2, "items": [alert, overdue]}),
    )
    page.goto(f"{server}/ui#/uyarilar")
    page.wait_for_selector("section.alert")
    cards = page.locator("section.alert")
    first, second = cards.nth(0).inner_text(), cards.nth(1).inner_text()
    assert "Hacim artışı" in first and "volume_spike" not in first
    assert "Kanal: Sosyal medya" in first and f"Konu: {TOPIC_WORDS}" in first
    assert "Gecikme" in second and "Seviye: P1" in second
    shot(page, "console-alerts")


def test_waiting_alerts_show_beside_the_menu_and_are_acknowledged_at_once(page, server):  # noqa: F811
    waiting = [
        {**ALERT, "id": n, "feedback_id": f"late-{n}", "kind": "overdue", "group": {"level": "P1"}}
        for n in (7, 5)
    ]
    posted = []

    def answer(route):
        if route.request.method == "POST":
            posted.append(route.request.post_data_json)
            route.fulfill(json={"acknowledged": 2})
        else:
            left = [] if posted else waiting
            route.fulfill(json={"count": len(left), "limit": 100, "offset": 0, "items": left})

    page.route(re.compile(r"/v1/alerts\b"), answer)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{server}/ui#/uyarilar")
    page.wait_for_selector("#alert-badge:not([hidden])")
    assert page.inner_text("#alert-badge") == "2"
    page.fill("input[name=who]", "Ayşe")  # no keys: the name typed here is who acknowledged
    page.click("#ack-all")
    page.wait_for_selector("text=2 uyarı onaylandı.")
    assert posted and posted[0] == {"up_to_id": 7, "by": "Ayşe"}  # the newest it showed
    page.wait_for_selector("#alert-badge", state="hidden")  # none waits: no "0" pill


def test_root_causes_say_when_there_is_nothing_to_compare_with(page, server):  # noqa: F811
    empty = {
        "topic": "fatura_odeme",
        "period": "day",
        "start": "2026-03-10",
        "previous_start": "2026-03-09",
        "count": 36,
        "vs_previous": [],
        "vs_topics": [],
        "changes": [],
        "text_cap": 2000,
        "texts_read": {"topic": 36, "previous": 0, "other_topics": 10},
    }
    page.route(re.compile(r"/v1/insights/root-causes"), lambda route: route.fulfill(json=empty))
    page.goto(f"{server}/ui#/kok-nedenler")
    page.click("#cause-form button[type=submit]")
    page.wait_for_selector("#causes table")
    text = page.inner_text("#causes")
    assert "Önceki dönemde bu konuda geri bildirim yok" in text
    assert "Belirgin ifade yok." in text  # the other topics were there to compare with
