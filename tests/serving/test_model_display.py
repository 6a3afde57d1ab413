"""`GET /v1/model` gives the words people read for each task and label (the config's `title`
and `display`), so the console shows `Şebeke ve hizmet kalitesi`, not `sebeke_hizmet_kalitesi`."""

from __future__ import annotations


def test_model_endpoint_gives_the_words_people_read_for_each_task_and_label(api_client):
    topic = api_client.get("/v1/model").json()["tasks"][1]
    assert topic["title"] == "Konu"
    assert topic["display"]["sebeke_hizmet_kalitesi"] == "Şebeke ve hizmet kalitesi"


def test_model_endpoint_gives_each_channel_s_name_for_people(api_client):
    titles = api_client.get("/v1/model").json()["channel_titles"]
    assert titles["sosyal_medya"] == "Sosyal medya" and titles["magaza"] == "Mağaza"
