"""The floor for the agency benchmark: a FastAPI app that only reads one stored object and
returns it — no token, no grant, no database, no decryption. Whatever it cannot reach on a
machine, no vault built the same way can.

    uvicorn scripts.passthrough:app --workers N
      PASSTHROUGH_FILE: the object's file in the file store; or
      PASSTHROUGH_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY, _BUCKET, _OBJECT: read with `minio`
"""

from __future__ import annotations

import os
from functools import cache

from fastapi import FastAPI, Response
from minio import Minio

app = FastAPI()


@cache
def _client() -> Minio:
    return Minio(
        os.environ["PASSTHROUGH_S3_ENDPOINT"],
        os.environ["PASSTHROUGH_S3_ACCESS_KEY"],
        os.environ["PASSTHROUGH_S3_SECRET_KEY"],
        secure=False,
    )


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/object")
def read_object() -> Response:
    path = os.environ.get("PASSTHROUGH_FILE")
    if path:
        with open(path, "rb") as file:
            return Response(file.read(), media_type="application/octet-stream")
    got = _client().get_object(
        os.environ["PASSTHROUGH_S3_BUCKET"], os.environ["PASSTHROUGH_S3_OBJECT"]
    )
    try:
        return Response(got.read(), media_type="application/octet-stream")
    finally:
        got.close()
        got.release_conn()
