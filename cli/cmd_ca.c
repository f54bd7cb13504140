/* cli/cmd_ca.c — `fount ca` (fount's own PKI for KMIP clients) and
 * `fount tenant` (binding client certificates to tenants). Arguments and
 * printing only: api/ makes the certificates and reads the bindings. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "api/api.h"
#include "cli/cli.h"
#include "keygen/keygen.h"

static const char ca_usage[] =
	"usage: fount ca init [--host NAME]...\n"
	"       fount ca issue --tenant NAME [-o DIR]\n"
	"       fount ca sign --tenant NAME [-o FILE] CSR_FILE\n"
	"\n"
	"fount's own CA for KMIP clients, in [service] state_dir/pki (fount serve\n"
	"makes it on first start when no [kmip] cert is configured).\n"
	"\n"
	"  init    make the CA and the KMIP server certificate if they are missing\n"
	"          (RSA-2048, EKU serverAuth+clientAuth, SANs: localhost, this host's\n"
	"          name, 127.0.0.1, ::1, [kmip] hostnames and every --host)\n"
	"  issue   a client certificate and key for tenant NAME (CN = NAME,\n"
	"          EKU clientAuth), as DIR/NAME.pem and DIR/NAME.key (0600);\n"
	"          DIR defaults to state_dir/pki/clients. Upload both to a client\n"
	"          that takes a KMS-issued certificate (vCenter: \"KMS certificate\n"
	"          and private key\")\n"
	"  sign    sign a client's PKCS#10 CSR (PEM or DER) for tenant NAME: the\n"
	"          certificate gets CN = NAME and the CSR's key (vCenter: \"KMS\n"
	"          signed CSR certificate\"); written to FILE or stdout\n"
	"\n"
	"  -t, --tenant NAME   the tenant the certificate maps to\n"
	"  -o, --out PATH      folder (issue) or file (sign)\n"
	"      --host NAME     another DNS name or IP address for the server certificate\n"
	"  -h, --help          this text\n";

static const char tenant_usage[] =
	"usage: fount tenant bind NAME --cert FILE [--by fingerprint|issuer-cn|cn]\n"
	"       fount tenant list\n"
	"\n"
	"Binds a client certificate to tenant NAME, so the client gets NAME's\n"
	"objects. Without a binding a client's tenant is its certificate's CN.\n"
	"Re-bind a client whose certificate was regenerated (vCenter's self-signed\n"
	"client certificate gets a new CN each time) to keep its keys. Bindings\n"
	"live in state_dir/tenants; a running fount serve reads them at the next\n"
	"connection.\n"
	"\n"
	"      --cert FILE   the client's certificate, PEM or DER\n"
	"      --by KIND     fingerprint (default: this certificate only),\n"
	"                    issuer-cn (any certificate with this CN from FILE's issuer:\n"
	"                    give the CA certificate as --issuer), cn (any certificate\n"
	"                    with FILE's CN)\n"
	"      --issuer FILE the CA certificate, for --by issuer-cn\n"
	"  -h, --help        this text\n";

/* read_cert reads one certificate file. */
static err_t read_cert(const char *cmd, const char *path, X509 **out)
{
	struct cli_buf b;
	GUARD(cli_read_file(cmd, "certificate", path, 64 * 1024, &b));
	err_t r = keygen_cert_decode(b.p, b.len, out);
	if (r != ERR_OK)
		fprintf(stderr, "fount %s: %s is not a PEM or DER X.509 certificate\n", cmd, path);
	cli_buf_free(&b);
	return r;
}

static int ca_init(const struct config *cfg, const char **hosts, size_t n_hosts)
{
	const char *names[API_PKI_MAX_NAMES];
	char buf[sizeof cfg->kmip_hostnames + 512];
	size_t n = api_pki_names(cfg->kmip_hostnames, buf, sizeof buf, names, API_PKI_MAX_NAMES);
	for (size_t i = 0; i < n_hosts && n < API_PKI_MAX_NAMES; i++)
		names[n++] = hosts[i];
	struct api_pki pki;
	bool created = false;
	char why[512];
	if (api_pki_init(cfg->service_state_dir, names, n, &pki, &created, why, sizeof why) != ERR_OK) {
		fprintf(stderr, "fount ca: %s\n", why);
		return EXIT_FAIL;
	}
	printf("%s fount's CA and the KMIP server certificate\n", created ? "made" : "kept");
	printf("ca:          %s\nca key:      %s\nserver:      %s\nserver key:  %s\n", pki.ca_cert, pki.ca_key,
	       pki.server_cert, pki.server_key);
	return EXIT_OK;
}

int cmd_ca(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{"out", required_argument, NULL, 'o'},
		{"host", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *tenant = NULL, *out = NULL, *hosts[API_PKI_MAX_NAMES];
	size_t n_hosts = 0;
	int c;
	/* 0, not 1: glibc re-reads the option string (main's getopt asked for
	 * REQUIRE_ORDER with '+'), so options may follow the subcommand */
	optind = 0;
	while ((c = getopt_long(argc, argv, ":t:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': tenant = optarg; break;
		case 'o': out = optarg; break;
		case 'H':
			if (n_hosts == API_PKI_MAX_NAMES)
				return cli_usage_error("ca", "at most %d --host", API_PKI_MAX_NAMES);
			hosts[n_hosts++] = optarg;
			break;
		case 'h': fputs(ca_usage, stdout); return EXIT_OK;
		default: return cli_option_error("ca", c, argc, argv, opts);
		}
	}
	if (optind >= argc)
		return cli_usage_error("ca", "init, issue or sign?");
	const char *verb = argv[optind++];
	bool init = strcmp(verb, "init") == 0, issue = strcmp(verb, "issue") == 0, sign = strcmp(verb, "sign") == 0;
	if (!init && !issue && !sign)
		return cli_usage_error("ca", "unknown subcommand '%s' (init, issue, sign)", verb);
	if (!init && tenant == NULL)
		return cli_usage_error("ca", "--tenant NAME is required");
	if (sign ? optind + 1 != argc : optind != argc)
		return cli_usage_error("ca", sign ? "sign takes one CSR file" : "unexpected argument '%s'",
				       sign ? "" : argv[optind]);
	if (tenant != NULL && (strlen(tenant) == 0 || strlen(tenant) > 63 || strchr(tenant, '/') != NULL ||
			       strchr(tenant, ' ') != NULL || tenant[0] == '.'))
		return cli_usage_error("ca", "tenant names are 1 to 63 characters, no '/', no spaces, not starting with '.'");
	/* certificates are signed and serials drawn after the self-tests */
	if (cli_power_on(cfg) != ERR_OK)
		return EXIT_FAIL;
	if (init)
		return ca_init(cfg, hosts, n_hosts);

	struct api_pki pki;
	char why[512];
	if (api_pki_paths(cfg->service_state_dir, &pki) != ERR_OK) {
		fprintf(stderr, "fount ca: [service] state_dir is too long\n");
		return EXIT_FAIL;
	}
	if (issue) {
		char cert[API_PKI_PATH + 128], key[API_PKI_PATH + 128];
		if (api_pki_issue(&pki, tenant, out != NULL ? out : pki.clients, cert, key, sizeof cert, why,
				  sizeof why) != ERR_OK) {
			fprintf(stderr, "fount ca: %s\n", why);
			return EXIT_FAIL;
		}
		printf("certificate: %s\nkey:         %s\nca:          %s\n", cert, key, pki.ca_cert);
		return EXIT_OK;
	}
	struct cli_buf csr;
	if (cli_read_file("ca", "CSR", argv[optind], 64 * 1024, &csr) != ERR_OK)
		return EXIT_FAIL;
	uint8_t *pem = NULL;
	size_t pem_len = 0;
	err_t r = api_pki_sign(&pki, tenant, csr.p, csr.len, &pem, &pem_len, why, sizeof why);
	cli_buf_free(&csr);
	if (r != ERR_OK) {
		fprintf(stderr, "fount ca: %s: %s\n", argv[optind], why);
		return EXIT_FAIL;
	}
	int rc = EXIT_OK;
	if (out == NULL) {
		rc = fwrite(pem, 1, pem_len, stdout) == pem_len ? EXIT_OK : EXIT_FAIL;
	} else {
		int fd = cli_create_file("ca", out, 0644);
		bool ok = fd >= 0 && cli_write_all(fd, pem, pem_len);
		rc = cli_finish_file(out, fd, ok) ? EXIT_OK : EXIT_FAIL;
	}
	free(pem);
	return rc;
}

static int tenant_bind(const struct config *cfg, const char *name, const char *cert_path, const char *by,
		       const char *issuer_path)
{
	X509 *cert = NULL, *issuer = NULL;
	if (read_cert("tenant", cert_path, &cert) != ERR_OK)
		return EXIT_FAIL;
	int rc = EXIT_FAIL;
	uint8_t fp[32];
	char cn[65] = "", line[512];
	X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
	err_t r = ERR_INVALID_ARG;
	if (strcmp(by, "fingerprint") == 0) {
		if (keygen_cert_sha256(cert, fp) == ERR_OK)
			r = api_tenant_binding_line("fingerprint", fp, NULL, name, line, sizeof line);
	} else if (strcmp(by, "issuer-cn") == 0) {
		if (issuer_path == NULL) {
			rc = cli_usage_error("tenant", "--by issuer-cn needs --issuer CA_FILE");
			goto out;
		}
		if (read_cert("tenant", issuer_path, &issuer) != ERR_OK)
			goto out;
		if (keygen_cert_sha256(issuer, fp) == ERR_OK)
			r = api_tenant_binding_line("issuer-cn", fp, cn, name, line, sizeof line);
	} else if (strcmp(by, "cn") == 0) {
		r = api_tenant_binding_line("cn", NULL, cn, name, line, sizeof line);
	} else {
		rc = cli_usage_error("tenant", "--by wants fingerprint, issuer-cn or cn");
		goto out;
	}
	if (r != ERR_OK) {
		fprintf(stderr, "fount tenant: cannot bind: the tenant name must be 1 to 63 characters without "
				"spaces or '#'%s\n",
			strcmp(by, "fingerprint") != 0 ? ", and the certificate needs a CN without spaces or '#'" : "");
		goto out;
	}
	char path[sizeof cfg->service_state_dir + 16];
	snprintf(path, sizeof path, "%s/tenants", cfg->service_state_dir);
	/* one write(2) of the whole line to an O_APPEND file: a concurrent
	 * reader sees the line whole or not at all */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t len = strlen(line);
	if (fd < 0 || write(fd, line, len) != (ssize_t)len || fsync(fd) != 0) {
		fprintf(stderr, "fount tenant: cannot write %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	printf("bound %s (CN %s) to tenant %s in %s\n", strcmp(by, "fingerprint") == 0 ? "this certificate" : by,
	       cn[0] ? cn : "none", name, path);
	rc = EXIT_OK;
out:
	X509_free(cert);
	X509_free(issuer);
	return rc;
}

int cmd_tenant(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"cert", required_argument, NULL, 'C'},
		{"by", required_argument, NULL, 'b'},
		{"issuer", required_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cert = NULL, *by = "fingerprint", *issuer = NULL;
	int c;
	/* 0, not 1: glibc re-reads the option string (main's getopt asked for
	 * REQUIRE_ORDER with '+'), so options may follow the subcommand */
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': cert = optarg; break;
		case 'b': by = optarg; break;
		case 'I': issuer = optarg; break;
		case 'h': fputs(tenant_usage, stdout); return EXIT_OK;
		default: return cli_option_error("tenant", c, argc, argv, opts);
		}
	}
	if (optind >= argc)
		return cli_usage_error("tenant", "bind or list?");
	const char *verb = argv[optind++];
	if (strcmp(verb, "list") == 0) {
		if (optind != argc)
			return cli_usage_error("tenant", "unexpected argument '%s'", argv[optind]);
		char path[sizeof cfg->service_state_dir + 16];
		snprintf(path, sizeof path, "%s/tenants", cfg->service_state_dir);
		FILE *f = fopen(path, "re");
		if (f == NULL) {
			printf("no bindings (%s): every client's tenant is its certificate's CN\n", path);
			return EXIT_OK;
		}
		char line[512];
		while (fgets(line, sizeof line, f) != NULL)
			fputs(line, stdout);
		fclose(f);
		return EXIT_OK;
	}
	if (strcmp(verb, "bind") != 0)
		return cli_usage_error("tenant", "unknown subcommand '%s' (bind, list)", verb);
	if (optind + 1 != argc)
		return cli_usage_error("tenant", "bind takes one tenant NAME");
	if (cert == NULL)
		return cli_usage_error("tenant", "--cert FILE is required");
	if (keygen_init(cfg) != ERR_OK) {
		fprintf(stderr, "fount tenant: %s\n", keygen_init_error());
		return EXIT_FAIL;
	}
	return tenant_bind(cfg, argv[optind], cert, by, issuer);
}
