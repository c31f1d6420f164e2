"""Drives the REAL crds client's web code (crds.submit.web.CrdsDjangoConnection, as
`crds submit` uses it) against a test server: lock check, login, uploads, listing, deletes,
logout. Prints one JSON line per step so the jest test can check the server's side.

usage: client_upload.py BASE_URL USER PASSWORD INSTRUMENT [--delete-all] [--logout] FILE...
"""
import json
import sys

from crds.core import log
from crds.submit.web import CrdsDjangoConnection


def main(argv):
    base, user, password, instrument, *rest = argv
    flags = {a for a in rest if a.startswith("--")}
    files = [a for a in rest if not a.startswith("--")]
    conn = CrdsDjangoConnection(locked_instrument=instrument, username=user, password=password, base_url=base)
    conn.fail_if_existing_lock()
    conn.login()
    print(json.dumps({"step": "login", "ok": True}), flush=True)
    if "--delete-all" in flags:
        for entry in conn.get("/upload/list/").json()["files"]:
            conn.get(entry["deleteUrl"])
    for path in files:
        conn.upload_file(path)
    print(json.dumps({"step": "list", "files": conn.get("/upload/list/").json()["files"]}), flush=True)
    if "--logout" in flags:
        conn.logout()
        print(json.dumps({"step": "logout", "ok": True}), flush=True)
    return log.errors()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
