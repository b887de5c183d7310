"""Profiles and following."""

from app.extensions import db
from blueprints.profiles.models import Follow
from tests.factories import make_user
from tests.helpers import auth_headers, counted_queries


def test_anonymous_viewers_see_a_profile_not_followed(client):
    make_user(username="celeb", bio="famous", image="https://example.com/c.png")

    response = client.get("/api/profiles/celeb")

    assert response.status_code == 200
    assert response.get_json() == {
        "profile": {
            "username": "celeb",
            "bio": "famous",
            "image": "https://example.com/c.png",
            "following": False,
        }
    }


def test_following_shows_on_the_profile_and_is_idempotent(client):
    fan, celeb = make_user(username="fan"), make_user(username="star")

    first = client.post("/api/profiles/star/follow", headers=auth_headers(fan))
    second = client.post("/api/profiles/star/follow", headers=auth_headers(fan))

    assert first.status_code == second.status_code == 200
    assert first.get_json()["profile"]["following"] is True
    seen = client.get("/api/profiles/star", headers=auth_headers(fan)).get_json()["profile"]
    assert seen["following"] is True
    assert db.session.scalar(db.select(db.func.count()).select_from(Follow)) == 1
    anonymous = client.get("/api/profiles/star").get_json()["profile"]
    assert anonymous["following"] is False
    assert celeb.id


def test_unfollowing_is_idempotent(client):
    fan, _ = make_user(username="exfan"), make_user(username="exstar")
    client.post("/api/profiles/exstar/follow", headers=auth_headers(fan))

    for _ in range(2):
        response = client.delete("/api/profiles/exstar/follow", headers=auth_headers(fan))
        assert response.status_code == 200
        assert response.get_json()["profile"]["following"] is False


def test_following_requires_a_token(client):
    make_user(username="private")

    assert client.post("/api/profiles/private/follow").status_code == 401
    assert client.delete("/api/profiles/private/follow").status_code == 401


def test_following_an_unknown_user_is_404(client):
    fan = make_user(username="lost")

    response = client.post("/api/profiles/nobody/follow", headers=auth_headers(fan))

    assert response.status_code == 404
    assert response.get_json() == {"errors": {"body": ["profile not found"]}}


def test_following_yourself_is_422(client):
    narcissus = make_user(username="narcissus")

    response = client.post("/api/profiles/narcissus/follow", headers=auth_headers(narcissus))

    assert response.status_code == 422
    assert response.get_json() == {"errors": {"username": ["cannot follow yourself"]}}


def test_usernames_match_exactly_on_every_database(client):
    make_user(username="Alice")

    assert client.get("/api/profiles/Alice").status_code == 200
    assert client.get("/api/profiles/alice").status_code == 404


def test_a_profile_is_one_statement_with_whether_the_viewer_follows_it(client):
    fan, star = make_user(username="counting-fan"), make_user(username="counted-star")
    db.session.add(Follow(follower_id=fan.id, followed_id=star.id))
    db.session.flush()
    headers = auth_headers(fan)
    db.session.expunge_all()  # as a fresh request finds it: nothing loaded

    with counted_queries() as statements:
        anonymous = client.get("/api/profiles/counted-star")
        viewed = client.get("/api/profiles/counted-star", headers=headers)

    assert anonymous.get_json()["profile"]["following"] is False
    assert viewed.get_json()["profile"]["following"] is True
    sent = [sql for sql in statements if not sql.startswith(("SAVEPOINT", "RELEASE"))]
    assert len(sent) == 3  # the profile; then the viewer's own row and the profile
