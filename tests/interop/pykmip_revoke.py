#!/usr/bin/python3
"""tests/interop/pykmip_revoke.py CONF UID — revoke one key with
python3-pykmip's ProxyKmipClient (KMIP 1.2, reason Cessation of Operation)
against a running fount, and print the wall-clock time (seconds since the
epoch) at which the server's answer came back. Exit 0 when it succeeded."""
import sys
import time

from kmip.core import enums
from kmip.pie import client as pie


def main():
    conf, uid = sys.argv[1], sys.argv[2]
    c = pie.ProxyKmipClient(config_file=conf, kmip_version=enums.KMIPVersion.KMIP_1_2)
    with c:
        c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
        print("%.6f" % time.time())
    return 0


if __name__ == "__main__":
    sys.exit(main())
