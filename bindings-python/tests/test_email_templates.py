"""Email templates from Python: saved per locale and checked when saved,
used by the next invitation (with its HTML part), previewed with a
placeholder link, refused without MANAGE_POLICY."""

from __future__ import annotations

from typing import List

import pytest

import enlist

from conftest import World

FR_TEXT = (
    "Bonjour{% if recipient_name %} {{ recipient_name }}{% endif %},\n\n"
    "{% if personal_message %}{{ personal_message }}\n\n{% endif %}"
    "Acceptez : {{ accept_url }}\nExpire le {{ expires_at }}.\n"
)
FR_HTML = '<p>Bonjour {{ recipient_name }}</p><a href="{{ accept_url }}">Accepter</a>'


def test_a_french_template_is_used_with_the_default_message(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    saved = e.set_email_template(
        org,
        actor=owner,
        locale="fr",
        subject="{{ inviter }} vous invite sur {{ organization }}",
        text_body=FR_TEXT,
        html_body=FR_HTML,
    )
    assert isinstance(saved, enlist.EmailTemplate)
    assert saved.locale == "fr" and saved.html_body == FR_HTML
    settings = e.set_email_settings(
        org, actor=owner, default_locale="fr_ca", default_message="Bienvenue !"
    )
    assert settings.default_locale == "fr-CA"
    assert e.email_settings(org, actor=owner) == settings
    assert [t.locale for t in e.email_templates(org, actor=owner)] == ["fr"]
    assert e.email_template(org, actor=owner, locale="FR") == saved
    assert e.email_template(org, actor=owner, locale="de") is None

    e.invite(
        org,
        [enlist.RecipientInput(email="dana@acme.example", first_name="<b>Dana</b>")],
        actor=owner,
    )
    got: List[enlist.OutgoingEmail] = []
    e.deliver_pending(got.append)
    (mail,) = got
    assert mail.subject == "Ada Lovelace vous invite sur Acme"
    assert "Bienvenue !" in mail.text_body
    assert mail.accept_url in mail.text_body
    assert mail.html_body is not None
    assert "&lt;b&gt;Dana&lt;" in mail.html_body and "<b>" not in mail.html_body
    assert f'href="{mail.accept_url}"' in mail.html_body
    # Delivered: the stored message no longer holds the link in either part.
    stored = e.outbox_message(mail.message_id)
    assert stored.email.html_body is not None
    assert mail.accept_url not in stored.email.html_body

    assert e.delete_email_template(org, actor=owner, locale="fr") is True
    assert e.delete_email_template(org, actor=owner, locale="fr") is False


def test_templates_are_checked_when_saved(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    with pytest.raises(enlist.InvalidInputError) as err:
        e.set_email_template(
            org, actor=owner, locale="de", subject="Einladung", text_body="Hallo"
        )
    assert err.value.field == "template.text_body"
    with pytest.raises(enlist.InvalidInputError):
        e.set_email_template(
            org, actor=owner, locale="de", subject="{{", text_body="{{ accept_url }}"
        )
    with pytest.raises(enlist.InvalidInputError):
        e.set_email_template(
            org,
            actor=owner,
            locale="de",
            subject="Hi",
            text_body="{{ accept_url }} {{ secret }}",
        )
    with pytest.raises(enlist.InvalidInputError):
        e.set_email_template(
            org, actor=owner, locale="not a tag", subject="Hi", text_body="{{ accept_url }}"
        )


def test_preview_shows_a_placeholder_link_and_writes_nothing(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    p = e.preview_email(org, actor=owner)
    assert isinstance(p, enlist.EmailPreview)
    assert p.template_locale is None, "the crate's default"
    assert "PREVIEW-NOT-A-REAL-TOKEN" in p.text_body
    assert p.html_body is not None
    p = e.preview_email(
        org,
        actor=owner,
        locale="es",
        subject="Hola {{ recipient_name }}",
        text_body="{{ accept_url }}",
    )
    assert p.subject == "Hola Dana Doe" and p.template_locale == "es"
    assert e.email_templates(org, actor=owner) == []
    with pytest.raises(enlist.InvalidInputError):
        e.preview_email(org, actor=owner, subject="only a subject")


def test_only_manage_policy_may_touch_templates(world: World) -> None:
    e, org = world.engine, world.org
    bob = world.join("bob@acme.example")
    for call in (
        lambda: e.email_templates(org, actor=bob),
        lambda: e.email_settings(org, actor=bob),
        lambda: e.preview_email(org, actor=bob),
        lambda: e.set_email_template(
            org, actor=bob, locale="fr", subject="{{", text_body="x"
        ),
    ):
        with pytest.raises(enlist.PermissionDeniedError):
            call()


def test_an_invitations_own_locale_picks_its_template(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    e.set_email_template(
        org,
        actor=owner,
        locale="fr",
        subject="Invitation à {{ organization }}",
        text_body=FR_TEXT,
    )
    e.invite(org, ["en@acme.example"], actor=owner)
    e.invite(org, ["fr@acme.example"], actor=owner, locale="fr_CA")
    got: List[enlist.OutgoingEmail] = []
    e.deliver_pending(got.append)
    subjects = {m.to: m.subject for m in got}
    assert subjects["fr@acme.example"] == "Invitation à Acme"
    assert subjects["en@acme.example"] != "Invitation à Acme"
    with pytest.raises(enlist.InvalidInputError):
        e.invite(org, ["x@acme.example"], actor=owner, locale="not a locale!")
