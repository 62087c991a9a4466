"""The QR code a citizen shows at the one-stop counter."""

import io

import segno


def png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()
