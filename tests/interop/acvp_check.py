#!/usr/bin/python3
"""Checks `fount acvp` against independent implementations.

For SHA2-256, HMAC-SHA2-256, ACVP-AES-KW and ACVP-AES-KWP it writes ACVP
vector sets (the NIST ACVP JSON layout, array form with acvVersion), runs
`fount acvp` on each and compares every answer with Python's own: hashlib
and hmac (CPython's), and python3-cryptography's key wrap (RFC 3394 and
RFC 5649 written in Python over AES-ECB, not OpenSSL's KW code). The SHA
Monte Carlo tests follow the ACVP SHA specification's pseudocode (standard
and alternate). Published vectors are included too: RFC 3394 §4.1 and
RFC 5649 §6 key wraps. Decrypt groups hold tampered ciphertexts that must
come back as testPassed false; an inverse-cipher and an LDT group must come
back as an error, not an answer.

usage: acvp_check.py FOUNT_BINARY   (prints "N passed, M failed")
"""
import hashlib
import hmac
import json
import os
import random
import subprocess
import sys

from cryptography.hazmat.primitives import keywrap

FOUNT = sys.argv[1]
rng = random.Random(20261203)
passed = failed = 0


def rb(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def H(b):
    return b.hex().upper()


def check(what, ok):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def run(vs):
    req = [{"acvVersion": "1.0"}, vs]
    p = subprocess.run([FOUNT, "acvp"], input=json.dumps(req).encode(), capture_output=True, env=os.environ)
    if not p.stdout:
        print(p.stderr.decode(), file=sys.stderr)
        return p.returncode, {}
    resp = json.loads(p.stdout)
    check("%s: response is [acvVersion, vector set]" % vs["algorithm"],
          isinstance(resp, list) and len(resp) == 2 and resp[0].get("acvVersion") == "1.0")
    body = resp[1]
    check("%s: vsId, algorithm, revision echoed" % vs["algorithm"],
          body.get("vsId") == vs["vsId"] and body.get("algorithm") == vs["algorithm"] and body.get("revision") == "1.0")
    groups = {g["tgId"]: g for g in body.get("testGroups", [])}
    return p.returncode, groups


def answers(groups, tg):
    return {t["tcId"]: t for t in groups.get(tg, {}).get("tests", [])}


def sha_mct(seed, alternate):
    out = []
    L = len(seed)
    for _ in range(100):
        a = b = c = seed
        for _ in range(1000):
            m = a + b + c
            if alternate:
                m = m[:L] if len(m) >= L else m + bytes(L - len(m))
            md = hashlib.sha256(m).digest()
            a, b, c = b, c, md
        out.append(md)
        seed = md
    return out


# ---- SHA2-256 ------------------------------------------------------------------
tc = 0
aft = []
for n in [0, 1, 3, 55, 56, 63, 64, 65, 127, 128, 1000, 4096]:
    tc += 1
    m = rb(n)
    aft.append({"tcId": tc, "msg": H(m) if n else "00", "len": 8 * n, "_md": hashlib.sha256(m).digest()})
mct_std_seed, mct_alt_seed = rb(32), rb(48)
vs = {"vsId": 4101, "algorithm": "SHA2-256", "revision": "1.0", "isSample": True, "testGroups": [
    {"tgId": 1, "testType": "AFT", "tests": [{k: v for k, v in t.items() if k != "_md"} for t in aft]},
    {"tgId": 2, "testType": "MCT", "mctVersion": "standard", "tests": [{"tcId": 100, "msg": H(mct_std_seed), "len": 256}]},
    {"tgId": 3, "testType": "MCT", "mctVersion": "alternate", "tests": [{"tcId": 101, "msg": H(mct_alt_seed), "len": 384}]},
    {"tgId": 4, "testType": "LDT", "tests": [{"tcId": 102, "largeMsg": {"content": "DE26", "contentLength": 16,
                                                                      "fullLength": 8589934592, "expansionTechnique": "repeating"}}]},
]}
rc, groups = run(vs)
check("SHA2-256: exit status says a group was unsupported", rc != 0)
got = answers(groups, 1)
for t in aft:
    check("SHA2-256 AFT tcId %d (%d bytes)" % (t["tcId"], t["len"] // 8), got.get(t["tcId"], {}).get("md") == H(t["_md"]))
for tg, seed, alt in [(2, mct_std_seed, False), (3, mct_alt_seed, True)]:
    res = answers(groups, tg).get(100 if tg == 2 else 101, {}).get("resultsArray", [])
    want = sha_mct(seed, alt)
    check("SHA2-256 MCT %s: 100 results" % ("alternate" if alt else "standard"), len(res) == 100)
    check("SHA2-256 MCT %s: every md" % ("alternate" if alt else "standard"),
          [r.get("md") for r in res] == [H(x) for x in want])
check("SHA2-256 LDT: an error for the group, no answer", "error" in groups.get(4, {}) and "tests" not in groups.get(4, {}))

# ---- HMAC-SHA2-256 --------------------------------------------------------------------
tgs = []
want = {}
tc = 0
for tg, (kl, ml, macl) in enumerate([(8, 0, 256), (256, 128, 256), (512, 1024, 128), (136, 8, 32), (512, 65536, 256)], 1):
    tests = []
    for _ in range(3):
        tc += 1
        k, m = rb(kl // 8), rb(ml // 8)
        tests.append({"tcId": tc, "key": H(k), "msg": H(m)})
        want[tc] = H(hmac.new(k, m, hashlib.sha256).digest()[:macl // 8])
    tgs.append({"tgId": tg, "testType": "AFT", "keyLen": kl, "msgLen": ml, "macLen": macl, "tests": tests})
# RFC 4231 test case 2 (key "Jefe")
tc += 1
tgs.append({"tgId": 10, "testType": "AFT", "keyLen": 32, "msgLen": 224, "macLen": 256,
            "tests": [{"tcId": tc, "key": H(b"Jefe"), "msg": H(b"what do ya want for nothing?")}]})
want[tc] = "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"
tgs.append({"tgId": 11, "testType": "AFT", "keyLen": 1024, "msgLen": 128, "macLen": 256,
            "tests": [{"tcId": 900, "key": H(rb(128)), "msg": H(rb(16))}]})
rc, groups = run({"vsId": 4102, "algorithm": "HMAC-SHA2-256", "revision": "1.0", "testGroups": tgs})
for g in tgs[:-1]:
    got = answers(groups, g["tgId"])
    for t in g["tests"]:
        check("HMAC-SHA2-256 tcId %d (key %d, msg %d, mac %d bits)" % (t["tcId"], g["keyLen"], g["msgLen"], g["macLen"]),
              got.get(t["tcId"], {}).get("mac") == want[t["tcId"]])
check("HMAC-SHA2-256: a 1024-bit key is refused as unsupported", "error" in groups.get(11, {}))

# ---- ACVP-AES-KW and ACVP-AES-KWP -----------------------------------------------------------
for alg, wrap, unwrap, lens in [
        ("ACVP-AES-KW", keywrap.aes_key_wrap, keywrap.aes_key_unwrap, [128, 192, 256, 512, 4096]),
        ("ACVP-AES-KWP", keywrap.aes_key_wrap_with_padding, keywrap.aes_key_unwrap_with_padding, [8, 56, 64, 72, 1000, 4096])]:
    tgs, enc_want, dec_want = [], {}, {}
    tc, tg = 0, 0
    for kl in (128, 192, 256):
        for pl in lens:
            tg += 1
            tests = []
            for _ in range(2):
                tc += 1
                k, p = rb(kl // 8), rb(pl // 8)
                tests.append({"tcId": tc, "key": H(k), "pt": H(p)})
                enc_want[tc] = H(wrap(k, p))
            tgs.append({"tgId": tg, "testType": "AFT", "direction": "encrypt", "kwCipher": "cipher",
                        "keyLen": kl, "payloadLen": pl, "tests": tests})
            tg += 1
            tests = []
            for i in range(3):
                tc += 1
                k, p = rb(kl // 8), rb(pl // 8)
                c = bytearray(wrap(k, p))
                if i == 2:
                    c[rng.randrange(len(c))] ^= 1 << rng.randrange(8)  # tampered
                    dec_want[tc] = None
                else:
                    dec_want[tc] = H(unwrap(k, bytes(c)))
                tests.append({"tcId": tc, "key": H(k), "ct": H(bytes(c))})
            tgs.append({"tgId": tg, "testType": "AFT", "direction": "decrypt", "kwCipher": "cipher",
                        "keyLen": kl, "payloadLen": pl, "tests": tests})
    # published vectors: RFC 3394 §4.1 (KW) and RFC 5649 §6 (KWP, 20 octets)
    tg += 1
    tc += 1
    if alg == "ACVP-AES-KW":
        tgs.append({"tgId": tg, "testType": "AFT", "direction": "encrypt", "kwCipher": "cipher", "keyLen": 128,
                    "payloadLen": 128, "tests": [{"tcId": tc, "key": "000102030405060708090A0B0C0D0E0F",
                                                  "pt": "00112233445566778899AABBCCDDEEFF"}]})
        enc_want[tc] = "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"
    else:
        tgs.append({"tgId": tg, "testType": "AFT", "direction": "encrypt", "kwCipher": "cipher", "keyLen": 192,
                    "payloadLen": 160, "tests": [{"tcId": tc, "key": "5840DF6E29B02AF1AB493B705BF16EA1AE8338F4DCC176A8",
                                                  "pt": "C37B7E6492584340BED12207808941155068F738"}]})
        enc_want[tc] = "138BDEAA9B8FA7FC61F97742E72248EE5AE6AE5360D1AE6A5F54F373FA543B6A"
    tgs.append({"tgId": 99, "testType": "AFT", "direction": "encrypt", "kwCipher": "inverse", "keyLen": 128,
                "payloadLen": 128, "tests": [{"tcId": 999, "key": H(rb(16)), "pt": H(rb(16))}]})
    rc, groups = run({"vsId": 4103, "algorithm": alg, "revision": "1.0", "testGroups": tgs})
    for g in tgs[:-1]:
        got = answers(groups, g["tgId"])
        for t in g["tests"]:
            a = got.get(t["tcId"], {})
            if g["direction"] == "encrypt":
                check("%s encrypt tcId %d (key %d, payload %d)" % (alg, t["tcId"], g["keyLen"], g["payloadLen"]),
                      a.get("ct") == enc_want[t["tcId"]])
            elif dec_want[t["tcId"]] is None:
                check("%s decrypt tcId %d: tampered, testPassed false" % (alg, t["tcId"]),
                      a.get("testPassed") is False and "pt" not in a)
            else:
                check("%s decrypt tcId %d (key %d, payload %d)" % (alg, t["tcId"], g["keyLen"], g["payloadLen"]),
                      a.get("pt") == dec_want[t["tcId"]] and "testPassed" not in a)
    check("%s: kwCipher inverse is an error for the group" % alg, "error" in groups.get(99, {}))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
