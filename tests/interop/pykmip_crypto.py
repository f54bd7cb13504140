#!/usr/bin/python3
"""tests/interop/pykmip_crypto.py CONF VERSION — python3-pykmip's
ProxyKmipClient (0.10: encrypt/decrypt(data, uid, cryptographic_parameters,
iv_counter_nonce)) against a running fount over mutual TLS, at KMIP 1.2 or
1.4: Encrypt and Decrypt with an AES-256 key fount made.

  * libmongocrypt's delegated shape: {CBC, PKCS5, AES, Random IV} -> Data
    and an IV of exactly 16 bytes; Decrypt with {CBC, PKCS5, AES} + IV;
  * mongod's audit log: no parameters -> fount's default (CBC, PKCS5, a
    random IV), then Decrypt with the IV alone;
  * a client IV: the ciphertext equals pyca/cryptography's AES-CBC under
    the key read back with Get, and no IV comes back;
  * a Pre-Active key is refused with PERMISSION_DENIED;
  * a Query of every Query Function parses (PyKMIP reads the fields in spec
    order and fails on one its version does not define).

Prints one JSON line; exit 0 only when every step did what it should."""
import json
import sys

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from kmip.core import enums
from kmip.pie import client as pie
from kmip.services import kmip_client


def ref_cbc(key, iv, data):
    """AES-CBC with PKCS#7 padding, computed by pyca/cryptography"""
    p = padding.PKCS7(128).padder()
    padded = p.update(data) + p.finalize()
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return e.update(padded) + e.finalize()


def main():
    conf, version = sys.argv[1], sys.argv[2]
    kv = {"1.2": enums.KMIPVersion.KMIP_1_2, "1.4": enums.KMIPVersion.KMIP_1_4}[version]
    out = {}
    cbc = {"block_cipher_mode": enums.BlockCipherMode.CBC,
           "padding_method": enums.PaddingMethod.PKCS5,
           "cryptographic_algorithm": enums.CryptographicAlgorithm.AES}
    data = b"a 96-byte data key, as libmongocrypt wraps it ....." + bytes(range(45))
    c = pie.ProxyKmipClient(config_file=conf, kmip_version=kv)
    with c:
        uid = c.create(enums.CryptographicAlgorithm.AES, 256,
                       cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                                 enums.CryptographicUsageMask.DECRYPT])
        c.activate(uid)
        key = c.get(uid).value

        ct, iv = c.encrypt(data, uid=uid, cryptographic_parameters=dict(cbc, random_iv=True))
        out["delegated_iv_len"] = len(iv) if iv is not None else None
        out["delegated_matches_reference"] = iv is not None and ct == ref_cbc(key, iv, data)
        out["delegated_round_trip"] = c.decrypt(ct, uid=uid, cryptographic_parameters=cbc,
                                                iv_counter_nonce=iv) == data

        ct, iv = c.encrypt(b"audit record", uid=uid)
        out["mongod_iv_len"] = len(iv) if iv is not None else None
        out["mongod_round_trip"] = iv is not None and c.decrypt(ct, uid=uid, iv_counter_nonce=iv) == b"audit record"

        given = bytes(range(16))
        ct, iv = c.encrypt(data, uid=uid, cryptographic_parameters=cbc, iv_counter_nonce=given)
        out["given_iv_known_answer"] = ct == ref_cbc(key, given, data) and iv is None

        pre = c.create(enums.CryptographicAlgorithm.AES, 128)
        try:
            c.encrypt(b"x", uid=pre)
            out["pre_active"] = "allowed"
        except Exception as e:  # the KMIP failure PyKMIP raises
            out["pre_active"] = "refused" if "PERMISSION_DENIED" in str(e) else str(e)
    proxy = kmip_client.KMIPProxy(config="client", config_file=conf, kmip_version=kv)
    proxy.open()
    try:
        q = proxy.query(query_functions=list(enums.QueryFunction))
        out["query_all"] = q.result_status.value.name
        out["query_extensions"] = len(q.extension_information or [])
    finally:
        proxy.close()
    good = (out["query_all"] == "SUCCESS" and out["query_extensions"] == 2 and out["delegated_iv_len"] == 16 and out["delegated_matches_reference"] and
            out["delegated_round_trip"] and out["mongod_iv_len"] == 16 and out["mongod_round_trip"] and
            out["given_iv_known_answer"] and out["pre_active"] == "refused")
    out["crypto"] = "ok" if good else "FAILED"
    print(json.dumps(out, sort_keys=True))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
