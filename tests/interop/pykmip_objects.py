#!/usr/bin/python3
"""tests/interop/pykmip_objects.py CONF VERSION DIR — python3-pykmip's
ProxyKmipClient registers one object of every type fount keeps and gets
each back equal, at the KMIP version given (1.2 or 1.4): a symmetric key,
secret data (a password and a seed), an X.509 certificate, an opaque
object, a private key (PKCS#8) and a public key (SubjectPublicKeyInfo),
the last three made by `openssl` in DIR (cert.der, key8.der, pub.der).

No wrapped Get here: KMIP 1.4 §2.1.4 makes a wrapped Key Value a Byte
String, as fount sends it, and PyKMIP 0.10's KeyBlock decoder reads the
Key Value as a Structure only (its server puts the wrapped bytes in Key
Material instead); tests/test_kmip_register.c covers wrapping. Prints one JSON line;
exit 0 only when every object came back as registered. Run with Debian's
/usr/bin/python3 (PyKMIP's client needs ssl.wrap_socket)."""
import json
import os
import sys

from kmip.core import enums
from kmip.pie import client as pie
from kmip.pie import objects


def read(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


def main():
    conf, version, d = sys.argv[1], sys.argv[2], sys.argv[3]
    kv = {"1.2": enums.KMIPVersion.KMIP_1_2, "1.4": enums.KMIPVersion.KMIP_1_4}[version]
    tag = version.replace(".", "")
    cert, key8, pub = read(d, "cert.der"), read(d, "key8.der"), read(d, "pub.der")
    sym_bytes = bytes(range(32))
    # PyKMIP's objects carry a default Name ("Symmetric Key", ...): fount
    # keeps Names unique per tenant (KMIP 1.4 §3.2), so each gets its own
    made = {
        "symmetric": objects.SymmetricKey(
            enums.CryptographicAlgorithm.AES, 256, sym_bytes,
            masks=[enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT],
            name="obj-sym-%s" % tag),
        "password": objects.SecretData(
            b"correct horse battery staple", enums.SecretDataType.PASSWORD,
            masks=[enums.CryptographicUsageMask.DERIVE_KEY], name="obj-pw-%s" % tag),
        "seed": objects.SecretData(bytes(range(96)), enums.SecretDataType.SEED,
                                   name="obj-seed-%s" % tag),
        "certificate": objects.X509Certificate(cert, name="obj-cert-%s" % tag),
        "opaque": objects.OpaqueObject(b"\x00opaque\xffbytes", enums.OpaqueDataType.NONE,
                                       name="obj-opaque-%s" % tag),
        "private": objects.PrivateKey(
            enums.CryptographicAlgorithm.RSA, 2048, key8, enums.KeyFormatType.PKCS_8,
            masks=[enums.CryptographicUsageMask.SIGN], name="obj-priv-%s" % tag),
        "public": objects.PublicKey(
            enums.CryptographicAlgorithm.RSA, 2048, pub, enums.KeyFormatType.X_509,
            masks=[enums.CryptographicUsageMask.VERIFY], name="obj-pub-%s" % tag),
    }
    out = {}
    c = pie.ProxyKmipClient(config_file=conf, kmip_version=kv)
    with c:
        for what, obj in made.items():
            try:
                uid = c.register(obj)
                back = c.get(uid)
                ok = (type(back) is type(obj) and back.value == obj.value)
                if isinstance(obj, objects.SecretData):
                    ok = ok and back.data_type == obj.data_type
                if isinstance(obj, objects.OpaqueObject):
                    ok = ok and back.opaque_type == obj.opaque_type
                if isinstance(obj, (objects.PrivateKey, objects.PublicKey)):
                    ok = ok and back.key_format_type == obj.key_format_type
                out[what] = "equal" if ok else "DIFFERENT"
            except Exception as e:  # the KMIP failure PyKMIP raises
                out[what] = "error: %s" % e
    print(json.dumps(out, sort_keys=True))
    return 0 if all(v == "equal" for v in out.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
