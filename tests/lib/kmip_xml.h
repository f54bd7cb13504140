/* tests/lib/kmip_xml.h — the OASIS KMIP test cases' XML form (KMIP Additional
 * Message Encodings v1.0, §6 "XML Profile"; tests/vectors/kmip/README.md,
 * "How the XML maps onto TTLV") read into a tree, turned into TTLV, and
 * compared with a server's TTLV response under the tolerances of the test
 * cases' §8.4.1 "Variable Items".
 *
 * Supported: elements with type= and value= attributes (no type = a
 * Structure), <TTLV tag="0x54xxxx" ...> for any tag, comments, <?xml?>,
 * text between elements (ignored), the <KMIP> wrapper, the five XML
 * entities; names from tags-kmip-1.4.tsv and enums-kmip-1.4.tsv; masks as
 * space-separated names and/or hex; DateTime in ISO 8601 with an offset;
 * BigInteger in hex; $NOW and $UNIQUE_IDENTIFIER_n. */
#ifndef FOUNT_TESTS_KMIP_XML_H
#define FOUNT_TESTS_KMIP_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/ttlv.h"

/* kx_tables_load reads the tag and enumeration tables (the TSV files with
 * their OASIS headers); 0 on success. Every other call needs them. */
int kx_tables_load(const char *tags_tsv, const char *enums_tsv, char *why, size_t why_len);
/* kx_tag returns the tag of an element name ("ProtocolVersionMajor"), or 0. */
uint32_t kx_tag(const char *xml_name);
/* kx_tag_xml returns a tag's element name, or NULL. */
const char *kx_tag_xml(uint32_t tag);
/* kx_enum looks |name| up in the enumeration whose name, without spaces
 * and punctuation, is |enumeration| (an element or Attribute Name:
 * "ResultReason", "Cryptographic Algorithm"); 0 on success. */
int kx_enum(const char *enumeration, const char *name, uint32_t *out);
/* kx_enum_name returns the XML spelling of |v| in |enumeration|, or NULL. */
const char *kx_enum_name(const char *enumeration, uint32_t v);

struct kx_node {
	char *name;    /* element name */
	uint32_t tag;
	uint8_t type;  /* enum ttlv_type */
	char *value;   /* the value attribute, NULL for a Structure */
	int line;
	struct kx_node *child, *next, *parent;
};

#define KX_MAX_MSGS 64
struct kx_case {
	char name[64];                       /* the file's base name without .xml */
	struct kx_node *msg[KX_MAX_MSGS];    /* Request/ResponseMessage, in file order */
	size_t n_msgs;
	struct kx_node *all;                 /* every node, for kx_case_free */
};

/* kx_parse reads one test-case file; 0 on success, else why says where. */
int kx_parse(const char *path, struct kx_case *c, char *why, size_t why_len);
/* kx_parse_text parses |len| bytes of XML text as the case |name|. */
int kx_parse_text(const char *text, size_t len, const char *name, struct kx_case *c, char *why,
		  size_t why_len);
void kx_case_free(struct kx_case *c);
bool kx_is_request(const struct kx_node *msg);

/* The variables of one replay: $NOW, and $UNIQUE_IDENTIFIER_n as captured
 * from the server's responses (KMIP test cases §8.4.1). */
#define KX_MAX_UIDS 8
struct kx_vars {
	int64_t now;                  /* what $NOW becomes in a request */
	int64_t now_slack;            /* a $NOW in a response may be this far from now */
	char uid[KX_MAX_UIDS][128];
	bool have_uid[KX_MAX_UIDS];
};

/* kx_encode turns |msg| into TTLV in |e| (initialised by the caller);
 * 0 on success. A $UNIQUE_IDENTIFIER_n not captured yet is an error. */
int kx_encode(const struct kx_node *msg, const struct kx_vars *v, struct ttlv_enc *e, char *why,
	      size_t why_len);

/* kx_compare checks the decoded response |got| against the expected
 * ResponseMessage |want|, for the request |req| (the XML request it
 * answers), capturing $UNIQUE_IDENTIFIER_n on first sight. Tolerated, and
 * nothing else (the test cases' §8.4.1):
 *   - a $NOW DateTime (the header TimeStamp, server-set dates): any
 *     DateTime within now_slack of v->now;
 *   - Key Material, Digest Value and Data (key material, digests, RNG
 *     output): any Byte String of the same length;
 *   - Result Message and Vendor Identification: any Text String; a Result
 *     Message the file does not show;
 *   - extra Attribute structures in a Response Payload (an expected one is
 *     still compared by Attribute Name and value, in order);
 *   - extra Protocol Versions in a Discover Versions answer when the
 *     request listed none;
 *   - a Query answer: what it lists is the server's own, so each kind of
 *     item (tag) the file shows must be there, with any values and counts.
 * Returns true when it matches; otherwise why names the first difference
 * with its path ("BatchItem/ResultStatus: ..."). */
bool kx_compare(const struct kx_node *want, const struct ttlv_item *got, const struct kx_node *req,
		struct kx_vars *v, char *why, size_t why_len);

/* kx_result_summary writes "Success" or "OperationFailed/Reason" for the
 * batch items of the decoded response |got|, separated by ",". */
void kx_result_summary(const struct ttlv_item *got, char *out, size_t n);

#endif
