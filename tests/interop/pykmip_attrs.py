#!/usr/bin/python3
"""tests/interop/pykmip_attrs.py CONF VERSION — python3-pykmip's
ProxyKmipClient against a running fount, at the KMIP version given (1.2 or
1.4): the attribute operations it has (0.10 has no Add Attribute) and
Check. Create AES-256 with a Name; get_attribute_list (the Random Number
Generator at 1.4 only); get_attributes of everything at KMIP 1.1 (must
parse: a 1.1 client is never sent an attribute 1.1 does not define, such as
Original Creation Date or the Random Number Generator); check with Encrypt (allowed)
and Sign (refused, PERMISSION_DENIED); modify_attribute renames the key;
delete_attribute removes the Name and returns it. Prints one JSON line;
exit 0 only when every step did what it should. Run with Debian's
/usr/bin/python3 (PyKMIP's client needs ssl.wrap_socket)."""
import json
import sys

from kmip.core import enums
from kmip.core import objects as cobjects
from kmip.core import primitives
from kmip.core.factories.attributes import AttributeFactory
from kmip.pie import client as pie


def attr_name(a):
    n = getattr(a, "attribute_name", a)
    return getattr(n, "value", n)


def name_value(a):
    """the Name Value of a Name attribute PyKMIP decoded"""
    v = getattr(a, "attribute_value", a)
    nv = getattr(v, "name_value", v)
    return getattr(nv, "value", nv)


def refused(e):
    """whether |e| is a KMIP Permission Denied (pie and core raise different types)"""
    return getattr(e, "reason", None) == enums.ResultReason.PERMISSION_DENIED or "PERMISSION_DENIED" in str(e)


def main():
    conf, version = sys.argv[1], sys.argv[2]
    kv = {"1.2": enums.KMIPVersion.KMIP_1_2, "1.4": enums.KMIPVersion.KMIP_1_4}[version]
    out = {}
    c = pie.ProxyKmipClient(config_file=conf, kmip_version=kv)
    name = "attrs-%s" % kv.name
    with c:
        uid = c.create(enums.CryptographicAlgorithm.AES, 256, name=name)
        names = c.get_attribute_list(uid)
        out["list"] = sorted(str(n) for n in names)
        # everything, decoded by PyKMIP at KMIP 1.1: fails if fount sent an
        # attribute 1.1 does not define (PyKMIP 0.10 cannot decode Original
        # Creation Date, 1.2, nor the Random Number Generator, 1.3)
        with pie.ProxyKmipClient(config_file=conf, kmip_version=enums.KMIPVersion.KMIP_1_1) as old:
            _, every = old.get_attributes(uid)
            out["all_names"] = sorted(set(attr_name(a) for a in every))
        out["check_encrypt"] = c.check(uid, cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT]) == uid
        try:
            c.check(uid, cryptographic_usage_mask=[enums.CryptographicUsageMask.SIGN])
            out["check_sign"] = "allowed"
        except Exception as e:  # the KMIP failure PyKMIP raises
            out["check_sign"] = "refused" if refused(e) else str(e)
        renamed = AttributeFactory().create_attribute(enums.AttributeType.NAME, name + "-renamed", 0)
        muid, mattr = c.modify_attribute(uid, attribute=renamed)
        out["modified"] = muid == uid and name_value(mattr) == name + "-renamed"
        _, now = c.get_attributes(uid, ["Name"])
        out["name_now"] = [name_value(a) for a in now]
        duid, dattr = c.delete_attribute(uid, attribute_name="Name", attribute_index=0)
        out["deleted"] = duid == uid and name_value(dattr) == name + "-renamed"
        _, gone = c.get_attributes(uid, ["Name"])
        out["name_after_delete"] = len(gone)
        try:
            c.delete_attribute(uid, attribute_name="State", attribute_index=0)
            out["delete_state"] = "allowed"
        except Exception as e:
            out["delete_state"] = "refused" if refused(e) else str(e)
        c.destroy(uid)
    good = ("State" in out["list"] and "Name" in out["list"] and "Unique Identifier" in out["list"] and
            "Original Creation Date" in out["list"] and
            ("Random Number Generator" in out["list"]) == (version == "1.4") and
            "Random Number Generator" not in out["all_names"] and
            "Original Creation Date" not in out["all_names"] and "State" in out["all_names"] and
            "Cryptographic Usage Mask" in out["all_names"] and
            out["check_encrypt"] and out["check_sign"] == "refused" and out["modified"] and
            out["name_now"] == [name + "-renamed"] and out["deleted"] and out["name_after_delete"] == 0 and
            out["delete_state"] == "refused")
    out["attrs"] = "ok" if good else "FAILED"
    print(json.dumps(out, sort_keys=True))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
