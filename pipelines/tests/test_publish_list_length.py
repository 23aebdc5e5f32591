"""Published lists are long enough for the API's filters: it filters up to 300 candidates before n."""

from __future__ import annotations

import pytest

from animerec.common import db
from animerec.common.cli import main
from animerec.devkit import published
from animerec.devkit.fixtures import migrated_database
from animerec.pipelines import data, publish, settings, synthetic


def test_every_place_that_decides_the_length_defaults_to_300():
    assert publish.LIST_LENGTH == 300
    assert settings.from_params({}).top_n == publish.LIST_LENGTH  # what the pipelines write per user and anime
    command = main.get_command(None, "publish")  # type: ignore[union-attr]
    option = next(p for p in command.params if p.name == "list_length")
    assert option.default == publish.LIST_LENGTH


@pytest.mark.integration
def test_a_published_user_list_holds_300(redis_url):
    with migrated_database("listlen") as url:
        world = synthetic.world(3, 360, mean_interactions=5, seed=1)
        data.store_world(url, world)
        with db.connect(url) as conn:
            (uid,) = conn.execute('SELECT user_id FROM processed."user" ORDER BY user_name LIMIT 1').fetchone()
            seen = {a for (a,) in conn.execute("SELECT anime_id FROM processed.user_anime WHERE user_id = %s", (uid,))}
            unseen = [int(a) for a in world.anime["anime_id"] if a not in seen][:310]
            conn.execute("INSERT INTO models.runs (run_id, pipeline, model, promoted, decision, metrics, report) "
                         "VALUES ('r1', 'user_anime', 'test', true, '{}', '{}', '')")
            with conn.cursor().copy("COPY models.user_recommendations (run_id, user_id, rank, anime_id, score) "
                                    "FROM STDIN") as copy:
                for rank, anime_id in enumerate(unseen, 1):
                    copy.write_row(("r1", uid, rank, anime_id, 1.0 / rank))
            conn.commit()
        _, payload = publish.publish(url, redis_url, "listlen", grace_seconds=0)
        (name,) = payload.user_recs
        got = published.read_live(redis_url, "listlen", lambda view: view.user_recs(name))
        assert got is not None and [r.anime_id for r in got] == unseen[:300]
        # every published list says which model and run made it
        meta = published.live_meta(redis_url, "listlen")
        assert (meta["user_model"], meta["user_run"]) == ("test", "r1") and "similar_model" not in meta
