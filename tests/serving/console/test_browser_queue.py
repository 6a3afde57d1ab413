"""The console's queue as people reach it: its address (filters and page kept through a reload,
Back and a shared link), its search box, and the links from the trends and root-cause pages."""

# ruff: noqa: F811 - the fixtures, imported from test_browser, are the tests' arguments
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.serving.console.test_browser import (  # noqa: F401 - fixtures
    browser,
    page,
    server,
)


def test_the_queue_keeps_its_filters_and_page_through_a_reload_and_the_back_button(page, server):
    page.goto(f"{server}/ui#/kuyruk")
    page.wait_for_selector("tr.item")
    page.select_option("select[name=level]", "P2")
    page.click("#filters button[type=submit]")
    page.wait_for_function("location.hash.includes('seviye=P2')")
    page.wait_for_selector("#page:text-matches('^1–')")
    page.click("#next")
    page.wait_for_function("location.hash.includes('kaydir=50')")
    page.wait_for_selector("#page:text-matches('^51–')")
    page.reload()
    page.wait_for_selector("#page:text-matches('^51–')")
    assert page.input_value("select[name=level]") == "P2"
    assert page.title() == "Kuyruk · Nabız"
    levels = page.eval_on_selector_all("tr.item .lvl", "els => els.map(e => e.textContent)")
    assert set(levels) == {"P2"}
    page.go_back()  # the first page of the same filter, not out of the console
    page.wait_for_selector("#page:text-matches('^1–')")
    assert "seviye=P2" in page.evaluate("location.hash")


def test_dates_given_backwards_are_named_as_the_reason_for_an_empty_queue(page, server):
    page.goto(f"{server}/ui#/kuyruk?baslangic=2026-12-09&bitis=2026-12-01")
    page.wait_for_selector("#queue-body td.muted:has-text('Başlangıç, bitişten sonra')")
    assert page.inner_text("#page") == ""  # no "0–0 / 0"


def test_a_filter_from_the_address_the_form_has_no_option_for_is_shown_in_the_form(page, server):
    page.goto(f"{server}/ui#/kuyruk?kanal=olmayan_kanal")
    page.wait_for_function("!document.body.innerText.includes('Yükleniyor')")  # answered
    assert page.input_value("select[name=channel]") == "olmayan_kanal"  # as the list was asked


def test_an_offset_in_the_address_that_is_no_whole_number_is_the_first_page(page, server):
    page.goto(f"{server}/ui#/kuyruk?kaydir=1e3")
    page.wait_for_selector("tr.item")
    assert page.inner_text("#page").startswith("1–")


def test_a_page_past_the_end_says_so_without_a_backwards_pager(page, server):
    page.goto(f"{server}/ui#/kuyruk?kaydir=99999")
    page.wait_for_selector("#queue-body td.muted:has-text('Bu sayfada kayıt yok')")
    assert page.inner_text("#page") == ""


def test_the_queue_search_box_finds_a_word_typed_in_capitals(page, server):
    item = httpx.get(f"{server}/v1/queue", params={"limit": 1}).json()["items"][0]
    word = max(item["text"].split(), key=len).strip(".,!?")
    expected = httpx.get(f"{server}/v1/queue", params={"q": word}).json()["count"]
    page.goto(f"{server}/ui#/kuyruk")
    page.wait_for_selector("tr.item")
    page.fill("input[name=q]", word.upper())
    page.click("#filters button[type=submit]")
    page.wait_for_function(
        "n => document.getElementById('queue-count').textContent === n + ' kayıt'",
        arg=f"{expected:,}".replace(",", "."),
    )
    assert page.locator(f"tr.item[data-id='{item['id']}']").count() == 1


def test_a_root_cause_phrase_opens_the_queue_of_the_texts_that_hold_it(page, server):
    page.goto(f"{server}/ui#/kok-nedenler")
    page.select_option("select[name=topic]", "fatura_odeme")
    week_before = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()  # a whole week
    page.fill("input[name=start]", week_before)
    page.click("#cause-form button[type=submit]")
    link = page.locator("#causes table.phrases a").first
    link.wait_for()
    phrase = link.inner_text()
    link.click()
    page.wait_for_selector("tr.item")
    assert page.input_value("input[name=q]") == phrase
    texts = page.eval_on_selector_all(
        "tr.item td.text div:first-child", "e => e.map(x => x.textContent)"
    )
    assert texts and all(phrase in text.lower() for text in texts)


def test_a_trend_points_texts_open_in_the_queue_with_as_many_items(page, server):
    page.goto(f"{server}/ui#/egilimler")
    page.wait_for_selector("#chart-volume svg circle.point")
    page.locator("#chart-volume circle.point[data-series=hepsi]").last.click()
    page.wait_for_selector("#point-texts tr.item")
    heading = page.inner_text("#point-texts h2")
    count = int(heading.split("(")[1].split(" ")[0].replace(".", ""))
    page.click("#point-texts h2 a")
    page.wait_for_selector("tr.item")
    assert page.inner_text("#queue-count") == f"{count:,} kayıt".replace(",", ".")
