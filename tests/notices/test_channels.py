"""The channels deliver what they are given, say whether a failure is worth retrying, and never
print a password, a recipient or a body."""

import contextlib
import hashlib
import hmac
import random
import socket
import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.sinks import SmtpSink, WebhookReceiver
from vault.notices.channels import ChannelError, Mailer, Webhook, sign, verify

SENDER = "Kho giấy tờ <no-reply@vault.example>"
SECRET = b"test-webhook-secret"


def _printed(error: BaseException) -> str:
    """What a log shows of an error: its message and those of the errors it chains."""
    return "".join(traceback.format_exception(error, limit=0))


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_mail_url_gives_host_port_tls_and_decoded_credentials() -> None:
    mailer = Mailer.from_url("smtp://mailer%40vault:p%40ss%2Fw%C3%B4rd@mail.example:587", SENDER)

    assert (mailer.host, mailer.port, mailer.sender) == ("mail.example", 587, SENDER)
    assert (mailer.username, mailer.password) == ("mailer@vault", "p@ss/wôrd")
    assert mailer.starttls and not mailer.implicit_tls and mailer.timeout == 15.0


def test_a_mail_url_without_credentials_or_port() -> None:
    mailer = Mailer.from_url("smtp://relay.internal", SENDER)

    assert (mailer.port, mailer.username, mailer.password, mailer.starttls) == (
        25,
        None,
        None,
        False,
    )


def test_smtps_is_tls_from_the_first_byte_on_465() -> None:
    mailer = Mailer.from_url("smtps://u:p@mail.example?timeout=2.5", SENDER)

    assert (mailer.port, mailer.implicit_tls, mailer.starttls, mailer.timeout) == (
        465,
        True,
        False,
        2.5,
    )


def test_starttls_can_be_turned_off_explicitly() -> None:
    assert not Mailer.from_url("smtp://u:p@127.0.0.1:2525?starttls=0", SENDER).starttls
    assert Mailer.from_url("smtp://127.0.0.1?starttls=1", SENDER).starttls


@pytest.mark.parametrize(
    "url",
    [
        "http://u:hunter2-secret@mail.example",
        "smtp://u:hunter2-secret@mail.example:99999",
        "smtp://u:hunter2-secret@mail.example?starttls=yes",
        "smtp://u:hunter2-secret@mail.example?timeout=soon",
        "smtp://u:hunter2-secret@mail.example?tls=1",
        "smtp://u:hunter2-secret@mail.example/inbox",
        "smtps://u:hunter2-secret@mail.example?starttls=1",
        "smtp://u:hunter2-secret@:25",
    ],
)
def test_a_bad_mail_url_is_refused_without_quoting_the_password(url: str) -> None:
    with pytest.raises(ValueError) as refused:
        Mailer.from_url(url, SENDER)

    assert "hunter2" not in _printed(refused.value)


def test_the_sender_must_be_an_address_with_a_domain() -> None:
    with pytest.raises(ValueError, match="sender"):
        Mailer.from_url("smtp://mail.example", "no-reply")


def test_a_mailer_does_not_show_its_password() -> None:
    mailer = Mailer.from_url("smtp://u:hunter2-secret@mail.example", SENDER)

    assert "hunter2" not in repr(mailer)
    assert "hunter2" not in str(mailer)


def test_a_vietnamese_notice_arrives_decoded_with_a_deterministic_message_id(
    smtp_sink: SmtpSink,
) -> None:
    mailer = Mailer.from_url(smtp_sink.url, SENDER)
    subject = "Giấy tờ của bạn sắp hết hạn: Căn cước công dân"
    body = "Xin chào Nguyễn Thị Ánh,\nCăn cước của bạn hết hạn ngày 31/12/2025."

    mailer.send(
        to="anh@example.vn",
        subject=subject,
        body=body,
        message_id="notice-42",
        link="https://vault.example/notices/42",
    )
    mailer.send(to="anh@example.vn", subject=subject, body=body, message_id="notice-42")

    first, again = smtp_sink.wait_for(2)
    assert first["Subject"] == subject
    assert first["From"] == SENDER and first["To"] == "anh@example.vn"
    # Text travels in MIME's canonical form, CRLF line ends.
    assert first.get_content() == f"{body}\n\nhttps://vault.example/notices/42\n".replace(
        "\n", "\r\n"
    )
    assert first["Message-ID"] == again["Message-ID"] == "<notice-42@vault.example>"
    assert first["Date"] is not None
    raw = first.as_bytes()
    assert raw.isascii(), "every relay carries 7-bit; 8-bit needs 8BITMIME"


def test_the_envelope_names_the_one_address_given(smtp_sink: SmtpSink) -> None:
    """A header parser reads "a,b@c" as two recipients; the envelope never does."""
    mailer = Mailer.from_url(smtp_sink.url, SENDER)
    mailer.send(to="anh@example.vn", subject="Thử", body="Một", message_id="notice-1")
    for split in ("postmaster,me@attacker.example", "postmaster; me@attacker.example"):
        with contextlib.suppress(ChannelError):  # the relay may refuse such a mailbox outright
            mailer.send(to=split, subject="Thử", body="Hai", message_id="notice-2")
    smtp_sink.wait_for(1)
    recipients = smtp_sink.recipients
    assert recipients[0] == ["anh@example.vn"]
    assert all(len(envelope) == 1 for envelope in recipients), recipients
    assert not any(
        "postmaster" in envelope or "me@attacker.example" in envelope for envelope in recipients
    ), recipients


def test_every_space_of_a_vietnamese_subject_survives_folding(smtp_sink: SmtpSink) -> None:
    words = [
        "Giấy",
        "tờ",
        "của",
        "bạn",
        "sắp",
        "hết",
        "hạn:",
        "Căn",
        "cước",
        "công",
        "dân,",
        "Hộ",
        "chiếu;",
        "Thông",
        "báo",
        "từ",
        "Đà",
        "Nẵng",
    ]
    pick = random.Random(7)
    subjects = [" ".join(pick.choices(words, k=pick.randint(2, 30))) for _ in range(40)]
    mailer = Mailer.from_url(smtp_sink.url, SENDER)

    for n, subject in enumerate(subjects):
        mailer.send(to="anh@example.vn", subject=subject, body="b", message_id=f"n-{n}")

    assert [m["Subject"] for m in smtp_sink.wait_for(len(subjects))] == subjects


def test_a_refused_recipient_is_permanent_and_not_named(smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse["gone@example.vn"] = "550 5.1.1 <gone@example.vn>: no such user"
    mailer = Mailer.from_url(smtp_sink.url, SENDER)

    with pytest.raises(ChannelError) as refused:
        mailer.send(to="gone@example.vn", subject="s", body="bí mật", message_id="n-1")

    assert refused.value.permanent
    assert "gone" not in _printed(refused.value) and "bí mật" not in _printed(refused.value)


def test_a_greylisted_recipient_is_worth_another_try(smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse["busy@example.vn"] = "451 4.7.1 Greylisted, try again later"
    mailer = Mailer.from_url(smtp_sink.url, SENDER)

    with pytest.raises(ChannelError) as refused:
        mailer.send(to="busy@example.vn", subject="s", body="b", message_id="n-2")

    assert not refused.value.permanent


def test_no_mail_server_is_a_temporary_failure(closed_port: int) -> None:
    mailer = Mailer.from_url(f"smtp://u:hunter2@127.0.0.1:{closed_port}?starttls=0", SENDER)

    with pytest.raises(ChannelError) as failed:
        mailer.send(to="anh@example.vn", subject="s", body="b", message_id="n-3")

    assert not failed.value.permanent
    assert "127.0.0.1" in str(failed.value)
    assert "hunter2" not in _printed(failed.value) and "anh@" not in _printed(failed.value)


def test_the_signature_is_hmac_sha256_of_the_body() -> None:
    body = '{"event_id":"e-1","text":"Xin chào"}'.encode()
    expected = hmac.new(b"k3y", body, hashlib.sha256).hexdigest()

    assert sign(b"k3y", body) == f"sha256={expected}"
    assert sign(b"key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_verify_accepts_only_the_exact_body_and_secret() -> None:
    header = sign(SECRET, b"{}")

    assert verify(SECRET, b"{}", header)
    assert not verify(SECRET, b"{} ", header)
    assert not verify(b"other", b"{}", header)
    assert not verify(SECRET, b"{}", header.upper())
    assert not verify(SECRET, b"{}", "sha256=ký tự")


def test_a_webhook_arrives_signed_over_the_exact_bytes_in_utf8(
    receiver: WebhookReceiver,
) -> None:
    Webhook(receiver.url, SECRET).post({"event_id": "e-7", "title": "Hộ chiếu sắp hết hạn", "n": 1})

    (received,) = receiver.wait_delivered(1)
    assert received.body == '{"event_id":"e-7","n":1,"title":"Hộ chiếu sắp hết hạn"}'.encode()
    assert verify(SECRET, received.body, received.headers["x-vault-signature"])
    assert received.headers["x-vault-event"] == "e-7"
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == "citizen-vault"
    assert received.json()["title"] == "Hộ chiếu sắp hết hạn"


def test_a_webhook_without_an_event_id_has_no_event_header(receiver: WebhookReceiver) -> None:
    Webhook(receiver.url, SECRET).post({"kind": "test"})

    assert "x-vault-event" not in receiver.wait_delivered(1)[0].headers


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429, 401, 403, 404, 405, 301])
def test_a_busy_or_misconfigured_receiver_is_a_temporary_failure(
    receiver: WebhookReceiver, status: int
) -> None:
    receiver.fail_next(1, status)
    webhook = Webhook(receiver.url, SECRET)

    with pytest.raises(ChannelError, match=str(status)) as failed:
        webhook.post({"event_id": "e-1", "secret_text": "bí mật"})
    webhook.post({"event_id": "e-1", "secret_text": "bí mật"})

    assert not failed.value.permanent
    assert "bí mật" not in str(failed.value) and "hooks" not in str(failed.value)
    assert len(receiver.received) == 2 and len(receiver.delivered) == 1


@pytest.mark.parametrize("status", [400, 410, 413, 422])
def test_a_refusing_receiver_is_a_permanent_failure(receiver: WebhookReceiver, status: int) -> None:
    receiver.respond = lambda received: status

    with pytest.raises(ChannelError, match=str(status)) as refused:
        Webhook(receiver.url, SECRET).post({"event_id": "e-2"})

    assert refused.value.permanent
    assert receiver.delivered == []


def test_no_receiver_is_a_temporary_failure(closed_port: int) -> None:
    with pytest.raises(ChannelError) as failed:
        Webhook(f"http://127.0.0.1:{closed_port}/hooks?token=t0k3n", SECRET).post({})

    assert not failed.value.permanent
    assert "t0k3n" not in str(failed.value)


def test_a_receiver_slower_than_the_timeout_is_a_temporary_failure(
    receiver: WebhookReceiver,
) -> None:
    receiver.hold_next(2.0)

    with pytest.raises(ChannelError) as failed:
        Webhook(receiver.url, SECRET, timeout=0.3).post({"event_id": "e-3"})

    assert not failed.value.permanent
    assert len(receiver.wait_for(1)) == 1


def test_a_request_whose_sender_left_during_a_hold_is_not_delivered(
    receiver: WebhookReceiver,
) -> None:
    receiver.hold_next(0.5)
    with pytest.raises(ChannelError):
        Webhook(receiver.url, SECRET, timeout=0.1).post({"event_id": "e-4"})

    Webhook(receiver.url, SECRET).post({"event_id": "e-4"})

    assert [r.json()["event_id"] for r in receiver.wait_dropped(1)] == ["e-4"]
    assert len(receiver.received) == 2 and len(receiver.delivered) == 1


def test_a_webhook_does_not_show_its_secret() -> None:
    assert "test-webhook-secret" not in repr(Webhook("https://hooks.example/x", SECRET))


def test_a_webhook_needs_an_http_url_and_a_secret() -> None:
    with pytest.raises(ValueError):
        Webhook("ftp://hooks.example/x", SECRET)
    with pytest.raises(ValueError):
        Webhook("https://hooks.example/x", b"")


def test_the_sinks_stop_without_leaving_threads() -> None:
    before = set(threading.enumerate())
    with SmtpSink() as sink, WebhookReceiver() as receiver:
        receiver.hold_next(30.0)
        Mailer.from_url(sink.url, SENDER).send(to="a@b.vn", subject="s", body="b", message_id="m")
        with pytest.raises(ChannelError):
            Webhook(receiver.url, SECRET, timeout=0.2).post({})
        sink.wait_for(1)

    assert set(threading.enumerate()) <= before


class _KeepAlive(BaseHTTPRequestHandler):
    """A gateway on HTTP/1.1 that keeps connections open, as real ones do, and answers with a
    body (which the sender must read for the connection to serve again)."""

    protocol_version = "HTTP/1.1"
    connections: list[int] = []

    def setup(self) -> None:
        super().setup()
        type(self).connections.append(self.client_address[1])

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        answer = b'{"queued": true}'
        self.send_response(202)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def keep_alive() -> Iterator[tuple[str, list[int]]]:
    seen: list[int] = []
    handler = type("Handler", (_KeepAlive,), {"connections": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    serving = threading.Thread(target=server.serve_forever, args=(0.05,))
    serving.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/vault", seen
    finally:
        server.shutdown()
        server.server_close()
        serving.join()


def test_posts_to_a_gateway_that_keeps_connections_alive_share_one(
    keep_alive: tuple[str, list[int]],
) -> None:
    url, connections = keep_alive
    webhook = Webhook(url, SECRET)

    for n in range(20):
        webhook.post({"event_id": f"e-{n}"})

    assert len(connections) == 1
