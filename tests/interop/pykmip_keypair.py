#!/usr/bin/python3
"""tests/interop/pykmip_keypair.py CONF VERSION — python3-pykmip's client
against a running fount (started with [kmip] keypair_pool = rsa-2048:1) at
the KMIP version given: ProxyKmipClient.create_key_pair (RSA-2048, a Name
and a usage mask per part), the parts' attributes, Locate by each Name;
rekey of an AES-256 key (the Name moves to the replacement, whose material
is new); KMIPProxy.rekey_key_pair of the pair; Query Server Information
carrying the key-pair pool. Prints one JSON line; exit 0 only when every
step did what it should. Run with Debian's /usr/bin/python3."""
import json
import sys

from kmip.core import attributes as kattrs
from kmip.core import enums, misc
from kmip.core.factories.attributes import AttributeFactory
from kmip.pie import client as pie
from kmip.services import kmip_client


def value(v):
    v = getattr(v, "value", v)
    return getattr(v, "name", v)


def attrs_of(c, uid, names):
    return {a.attribute_name.value: value(a.attribute_value) for a in c.get_attributes(uid, names)[1]}


def locate_name(c, name):
    return c.locate(attributes=[AttributeFactory().create_attribute(enums.AttributeType.NAME, name)])


def main():
    conf, version = sys.argv[1], sys.argv[2]
    kv = {"1.2": enums.KMIPVersion.KMIP_1_2, "1.4": enums.KMIPVersion.KMIP_1_4}[version]
    out = {}
    tag = kv.name
    c = pie.ProxyKmipClient(config_file=conf, kmip_version=kv)
    with c:
        # create_key_pair returns (public, private) [kmip/pie/client.py]
        pub, priv = c.create_key_pair(enums.CryptographicAlgorithm.RSA, 2048,
                                      public_name="kp-pub-" + tag,
                                      public_usage_mask=[enums.CryptographicUsageMask.VERIFY],
                                      private_name="kp-priv-" + tag,
                                      private_usage_mask=[enums.CryptographicUsageMask.SIGN])
        names = ["Object Type", "State", "Cryptographic Algorithm", "Cryptographic Length",
                 "Cryptographic Usage Mask"]
        out["private"] = attrs_of(c, priv, names)
        out["public"] = attrs_of(c, pub, names)
        out["located_pair"] = (locate_name(c, "kp-priv-" + tag) == [priv] and
                               locate_name(c, "kp-pub-" + tag) == [pub])

        old = c.create(enums.CryptographicAlgorithm.AES, 256, name="rk-" + tag)
        old_bytes = c.get(old).value
        new = c.rekey(uid=old, offset=0)
        new_bytes = c.get(new).value
        out["rekey"] = {
            "new_id": new != old,
            "new_material": len(new_bytes) == 32 and new_bytes != old_bytes,
            "old_material_kept": c.get(old).value == old_bytes,
            "name_moved": locate_name(c, "rk-" + tag) == [new],
        }

    proxy = kmip_client.KMIPProxy(config="client", config_file=conf, kmip_version=kv)
    proxy.open()
    try:
        rk = proxy.rekey_key_pair(private_key_uuid=kattrs.PrivateKeyUniqueIdentifier(priv),
                                  offset=misc.Offset(0))
        out["rekey_pair_status"] = rk.result_status.value.name
        new_priv = getattr(rk.private_key_uuid, "value", rk.private_key_uuid)
        new_pub = getattr(rk.public_key_uuid, "value", rk.public_key_uuid)
        out["rekey_pair_new"] = bool(new_priv) and bool(new_pub) and new_priv != priv and new_pub != pub
        q = proxy.query(query_functions=[enums.QueryFunction.QUERY_SERVER_INFORMATION])
        si = q.server_information
        data = bytes(si.data.buffer) if si is not None and si.data is not None else b""
        out["pool_reported"] = b"rsa-2048 " in data
    finally:
        proxy.close()
    with pie.ProxyKmipClient(config_file=conf, kmip_version=kv) as c:
        out["rekey_pair_name_moved"] = locate_name(c, "kp-priv-" + tag) == [new_priv]

    p, b = out["private"], out["public"]
    good = (p.get("Object Type") == "PRIVATE_KEY" and b.get("Object Type") == "PUBLIC_KEY" and
            p.get("State") == "PRE_ACTIVE" and p.get("Cryptographic Algorithm") == "RSA" and
            p.get("Cryptographic Length") == 2048 and b.get("Cryptographic Length") == 2048 and
            p.get("Cryptographic Usage Mask") == 1 and b.get("Cryptographic Usage Mask") == 2 and
            out["located_pair"] and all(out["rekey"].values()) and
            out["rekey_pair_status"] == "SUCCESS" and out["rekey_pair_new"] and
            out["rekey_pair_name_moved"] and out["pool_reported"])
    out["keypair"] = "ok" if good else "FAILED"
    print(json.dumps(out, sort_keys=True))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
