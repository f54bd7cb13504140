#!/usr/bin/python3
"""tests/interop/pykmip_basic.py CONF VERSION — python3-pykmip's client
against a running fount over mutual TLS, at the KMIP version given (1.2 or
1.4): Discover Versions and Query (KMIPProxy), then a key's whole life with
ProxyKmipClient: create AES-256 with a Name, get, get_attributes, activate,
locate by name, destroy while Active (must be refused), revoke, destroy, get
(must be refused). Prints one JSON line; exit 0 only when every step did
what it should. Run with Debian's /usr/bin/python3 (PyKMIP's client needs
ssl.wrap_socket, gone in Python 3.12)."""
import json
import sys

from kmip.core import enums
from kmip.core.factories.attributes import AttributeFactory
from kmip.pie import client as pie
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
    out.update(lifecycle(conf, kv))
    print(json.dumps(out, sort_keys=True))
    ok = out["discover_status"] == "SUCCESS" and out["query_status"] == "SUCCESS" and out["lifecycle"] == "ok"
    return 0 if ok else 1


def lifecycle(conf, kv):
    out = {}
    c = pie.ProxyKmipClient(config_file=conf, kmip_version=kv)
    name = "interop-%s" % kv.name
    with c:
        uid = c.create(enums.CryptographicAlgorithm.AES, 256, name=name)
        key = c.get(uid)
        out["key_bytes"] = len(key.value)
        attrs = c.get_attributes(uid, ["State", "Cryptographic Length"])[1]
        out["attrs"] = {a.attribute_name.value: name_or_value(a.attribute_value) for a in attrs}
        c.activate(uid)
        by_name = AttributeFactory().create_attribute(enums.AttributeType.NAME, name)
        out["located"] = c.locate(attributes=[by_name]) == [uid]
        try:
            c.destroy(uid)
            out["destroy_active"] = "allowed"
        except Exception as e:  # the KMIP failure PyKMIP raises
            out["destroy_active"] = "refused" if "PERMISSION_DENIED" in str(e) else str(e)
        c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
        c.destroy(uid)
        try:
            c.get(uid)
            out["get_destroyed"] = "allowed"
        except Exception as e:
            out["get_destroyed"] = "refused" if "PERMISSION_DENIED" in str(e) else str(e)
    good = (out["key_bytes"] == 32 and out["attrs"].get("State") == "PRE_ACTIVE" and
            out["attrs"].get("Cryptographic Length") == 256 and out["located"] and
            out["destroy_active"] == "refused" and out["get_destroyed"] == "refused")
    out["lifecycle"] = "ok" if good else "FAILED"
    return out


def name_or_value(v):
    v = getattr(v, "value", v)
    return getattr(v, "name", v)


if __name__ == "__main__":
    sys.exit(main())
