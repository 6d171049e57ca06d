#!/usr/bin/env python3
"""registry_push.py URL NAME SEED TAG... — pushes one small OCI image to a registry
(the distribution API: a blob upload with POST then PUT, then a manifest PUT per tag),
no docker needed. The same SEED gives the same bytes, so the same manifest digest on
every registry; another SEED gives another digest. Prints the manifest's digest."""
import hashlib
import http.client
import json
import sys
import urllib.parse


def request(conn, method, path, body=b"", headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    return r, data


def push_blob(conn, name, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r, _ = request(conn, "POST", f"/v2/{name}/blobs/uploads/")
    if r.status != 202:
        sys.exit(f"upload start: HTTP {r.status}")
    loc = urllib.parse.urlsplit(r.getheader("Location"))
    sep = "&" if loc.query else "?"
    path = loc.path + ("?" + loc.query if loc.query else "") + sep + "digest=" + digest
    r, body = request(conn, "PUT", path, data, {"Content-Type": "application/octet-stream",
                                                 "Content-Length": str(len(data))})
    if r.status != 201:
        sys.exit(f"upload: HTTP {r.status} {body!r}")
    return digest, len(data)


def main():
    url, name, seed, tags = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": []},
                         "config": {"Labels": {"seed": seed}}}).encode()
    layer = ("layer of seed " + seed + "\n").encode() * 10
    cdig, clen = push_blob(conn, name, config)
    ldig, llen = push_blob(conn, name, layer)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdig, "size": clen},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ldig, "size": llen}],
    }, sort_keys=True).encode()
    for tag in tags:
        r, body = request(conn, "PUT", f"/v2/{name}/manifests/{tag}", manifest,
                          {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        if r.status != 201:
            sys.exit(f"manifest {name}:{tag}: HTTP {r.status} {body!r}")
    print("sha256:" + hashlib.sha256(manifest).hexdigest())


main()
