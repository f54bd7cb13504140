#!/usr/bin/python3
"""tests/interop/pykmip_basic.py CONF VERSION — python3-pykmip's client
against a running fount: Discover Versions and Query over mutual TLS, at
the KMIP version given (1.2 or 1.4). Prints one JSON line; exit 0 only when
every operation succeeded. Run with Debian's /usr/bin/python3 (PyKMIP's
client needs ssl.wrap_socket, gone in Python 3.12)."""
import json
import sys

from kmip.core import enums
from kmip.services import kmip_client


def name(x):
    """an enumeration's name, whether PyKMIP gives an Enum, a wrapped one or an int"""
    v = getattr(x, "value", x)
    if isinstance(v, int):
        try:
            v = enums.Operation(v)
        except ValueError:
            return str(v)
    return v.name


def main():
    conf, version = sys.argv[1], sys.argv[2]
    kv = {"1.2": enums.KMIPVersion.KMIP_1_2, "1.4": enums.KMIPVersion.KMIP_1_4}[version]
    proxy = kmip_client.KMIPProxy(config="client", config_file=conf, kmip_version=kv)
    proxy.open()
    try:
        out = {}
        dv = proxy.discover_versions()
        out["discover_status"] = dv.result_status.value.name
        out["versions"] = ["%d.%d" % (v.major, v.minor) for v in dv.protocol_versions]
        q = proxy.query(query_functions=[enums.QueryFunction.QUERY_OPERATIONS,
                                         enums.QueryFunction.QUERY_OBJECTS,
                                         enums.QueryFunction.QUERY_SERVER_INFORMATION])
        out["query_status"] = q.result_status.value.name
        out["operations"] = sorted(name(o) for o in (q.operations or []))
        vi = q.vendor_identification
        out["vendor"] = getattr(vi, "value", vi)
    finally:
        proxy.close()
    print(json.dumps(out, sort_keys=True))
    ok = out["discover_status"] == "SUCCESS" and out["query_status"] == "SUCCESS"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
